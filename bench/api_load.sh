#!/bin/sh
# Management API under load (issue 7 item 9): a CDR table of ROWS rows (generated SQL, not
# calls), listed page by page and exported as CSV (fast and slow client) while vcsd's RSS is
# sampled, then wrk with CONNS connections against GET /v1/cdrs for SECONDS. Loopback only;
# one vcsd of its own on free ports, stopped (by its PID) at the end.
#
#   bench/api_load.sh                 # 1,000,000 rows, 200 connections, 20 s
#   ROWS=100000 SECONDS_WRK=5 bench/api_load.sh
#
# Needs sqlite3, curl, wrk (Debian packages), python3. VCSD=path picks the binary (default:
# src/vcsd of this tree). Output: figures on stdout, files in $WORK (default a temp dir).
set -eu
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
CONNS=${CONNS:-200}
SECONDS_WRK=${SECONDS_WRK:-20}
VCSD=${VCSD:-$PWD/src/vcsd}
WORK=${WORK:-$(mktemp -d /tmp/vcs-api-load.XXXXXX)}
for tool in sqlite3 curl wrk python3; do
    command -v $tool >/dev/null || { echo "api_load: $tool is missing" >&2; exit 2; }
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HTTP=$(free_port)
SIP=$(free_port)
mkdir -p "$WORK/data"
"$VCSD" --sip 127.0.0.1:$SIP --http 127.0.0.1:$HTTP --data "$WORK/data" --dialplans dialplans \
    --sounds sounds --rtp-ports 40000-40099 --log-level warn >"$WORK/vcsd.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null || true' EXIT
API=http://127.0.0.1:$HTTP
i=0
until [ -s "$WORK/data/admin.token" ] && curl -sf -o /dev/null -H "Authorization: Bearer $(cat "$WORK/data/admin.token")" $API/v1/health; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "api_load: vcsd did not start" >&2; exit 1; }; sleep 0.1
done
OP="Authorization: Bearer $(cat "$WORK/data/admin.token")"
TOKEN=$(curl -sf -H "$OP" -d '{"name":"bench"}' $API/v1/accounts | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
AUTH="Authorization: Bearer $TOKEN"

rss() { awk '/^VmRSS/ {print $2}' /proc/$PID/status; }
hwm() { awk '/^VmHWM/ {print $2}' /proc/$PID/status; }
# Peak RSS (KiB) while the command runs (its output goes to stderr): samples every 50 ms.
peak_during() {
    "$@" >&2 &
    job=$!
    peak=0
    while kill -0 $job 2>/dev/null; do
        r=$(rss); [ "$r" -gt "$peak" ] && peak=$r
        sleep 0.05
    done
    wait $job || true
    echo $peak
}

echo "date: $(date -u +%FT%TZ); machine: $(nproc) cores, $(uname -r); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "vcsd: $VCSD ($(sha256sum "$VCSD" | cut -c1-16)); work: $WORK"

t0=$(date +%s.%N)
sqlite3 -cmd '.timeout 10000' -cmd ".parameter set :rows $ROWS" "$WORK/data/vcs.db" \
    'BEGIN;' '.read bench/cdr_fill.sql' 'COMMIT;'
t1=$(date +%s.%N)
echo "fill: $ROWS rows in $(python3 -c "print('%.1f' % ($t1 - $t0))") s; data $(du -sh "$WORK/data" | cut -f1)"
echo "rss at rest: $(rss) KiB"

walk() {
    python3 - "$HTTP" "$TOKEN" <<'PY'
import http.client, json, sys, time
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=60)
h = {"Authorization": "Bearer " + sys.argv[2]}
after, rows, pages, t = None, 0, 0, time.time()
while True:
    conn.request("GET", "/v1/cdrs?limit=1000" + ("&after=" + after if after else ""), headers=h)
    page = json.loads(conn.getresponse().read())
    rows += len(page["items"]); pages += 1; after = page["next"]
    if not after:
        break
print("list: %d rows in %d pages, %.1f s (%.0f rows/s)" % (rows, pages, time.time() - t, rows / (time.time() - t)))
PY
}
peak=$(peak_during walk)
echo "list: peak rss $peak KiB"

t0=$(date +%s.%N)
peak=$(peak_during sh -c "curl -s -H '$AUTH' -H 'Accept: text/csv' -o '$WORK/cdrs.csv' $API/v1/cdrs")
t1=$(date +%s.%N)
echo "csv: $(($(wc -l <"$WORK/cdrs.csv") - 1)) lines, $(du -h "$WORK/cdrs.csv" | cut -f1), $(python3 -c "print('%.1f' % ($t1 - $t0))") s, peak rss $peak KiB"
rm -f "$WORK/cdrs.csv"
peak=$(peak_during sh -c "curl -s --limit-rate 2M --max-time 10 -H '$AUTH' -H 'Accept: text/csv' -o /dev/null $API/v1/cdrs")
echo "csv, slow client (2 MB/s, cut after 10 s): peak rss $peak KiB"
echo "rss after the exports: $(rss) KiB (high-water mark $(hwm) KiB)"

wrk -t2 -c"$CONNS" -d"${SECONDS_WRK}s" --latency -H "$AUTH" "$API/v1/cdrs?limit=50" | tee "$WORK/wrk.txt"
echo "rss after wrk: $(rss) KiB (high-water mark $(hwm) KiB)"
kill $PID
wait $PID && echo "vcsd exit 0" || echo "vcsd exit $?"
trap - EXIT
