#!/bin/sh
# Renders every prompt text SRC/**/NAME.txt to DST/**/NAME.wav with espeak-ng (22050 Hz WAV; vcsd
# resamples prompts to 8 kHz when it loads them). Voice by the first folder under SRC:
# zh/ -> cmn-latn-pinyin (never "zh" or "cmn", see docs), anything else (top level, en/) -> en-us.
# Prompts in a folder (en/, zh/) are words that say_number/say_digits string together, so they
# are rendered without espeak's final sentence pause (about 0.4 s each); top-level prompts keep it.
# A wav is rendered only when missing or older than its text, so running it again is cheap.
# Usage: render-prompts.sh SRC DST   (ESPEAK=/path/to/espeak-ng to choose the binary)
set -eu

if [ $# -ne 2 ]; then
  echo "usage: $0 SRC DST" >&2
  exit 2
fi
src=$1
dst=$2
espeak=${ESPEAK:-espeak-ng}
if [ ! -d "$src" ]; then
  echo "$0: $src is not a folder" >&2
  exit 1
fi
if ! command -v "$espeak" >/dev/null 2>&1; then
  echo "$0: $espeak not found (install the Debian package espeak-ng)" >&2
  exit 1
fi

list=$(mktemp)
trap 'rm -f "$list"' EXIT
# Names with a newline would break the line-based loop below; prompt names never have one.
(cd "$src" && find . -type f -name '*.txt' | sed 's|^\./||' | LC_ALL=C sort) > "$list"

rendered=0
failed=0
while IFS= read -r rel; do
  case $rel in
    zh/*) voice=cmn-latn-pinyin ;;
    *) voice=en-us ;;
  esac
  case $rel in
    */*) pause=-z ;;
    *) pause= ;;
  esac
  txt=$src/$rel
  wav=$dst/${rel%.txt}.wav
  if [ -f "$wav" ] && [ -n "$(find "$wav" -prune -newer "$txt")" ]; then
    continue
  fi
  mkdir -p "$(dirname "$wav")"
  # Written aside and renamed, so an interrupted run never leaves a truncated prompt that
  # looks up to date.
  if "$espeak" -v "$voice" -s 150 $pause -w "$wav.tmp" -f "$txt" && [ -s "$wav.tmp" ]; then
    mv -f "$wav.tmp" "$wav"
    rendered=$((rendered + 1))
  else
    rm -f "$wav.tmp"
    echo "$0: cannot render $txt with voice $voice" >&2
    failed=$((failed + 1))
  fi
done < "$list"

echo "render-prompts: $rendered rendered into $dst"
[ "$failed" -eq 0 ]
