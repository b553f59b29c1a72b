#!/bin/sh
# Makes the answering-machine detection test recordings (8 kHz mono mu-law WAV, small):
#   machine.wav  0.4 s of line noise, a long voicemail greeting, then 1.5 s of noise
#   human.wav    0.6 s of line noise, a short "Hello?", then 4 s of noise
# Line noise is white noise about 45 dB below full scale, mixed under the whole file.
# Needs espeak-ng and sox (scripts/deps.sh installs both). Output is deterministic
# (sox -R), so re-running it changes nothing unless the tools change.
set -e
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

make() { # name, lead-in seconds, text, tail seconds
    espeak-ng -v en-us -s 165 -w "$tmp/$1-voice.wav" "$3"
    sox -R "$tmp/$1-voice.wav" -r 8000 -c 1 -b 16 "$tmp/$1-8k.wav" pad "$2" "$4" norm -6
    len=$(soxi -D "$tmp/$1-8k.wav")
    sox -R -n -r 8000 -c 1 -b 16 "$tmp/$1-noise.wav" synth "$len" whitenoise vol 0.006
    sox -R -m "$tmp/$1-8k.wav" "$tmp/$1-noise.wav" -e u-law -b 8 "$1.wav"
}

make machine 0.4 "Hello, you have reached the voicemail of John Smith. I cannot take your call right now. Please leave a message after the tone." 1.5
make human 0.6 "Hello?" 4
