-- :rows generated CDR rows of account 'bench' (bench/api_load.sh, bench/api_calls_bench.py):
-- a quarter outbound, a third busy, one row every 2 s from 2023-11-14, vars with a comma and
-- quotes (the CSV export's quoting). One statement; the caller wraps it in a transaction.
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :rows)
INSERT INTO cdr(call_id, sip_call_id, direction, account, from_number, to_number, script,
                start_time, answer_time, end_time, duration_ms, billsec, bill_minutes, sip_code,
                hangup_cause, hangup_by, vars)
SELECT printf('bench%08d', i), printf('%d@bench', i), CASE i % 4 WHEN 0 THEN 'outbound' ELSE 'inbound' END,
       'bench', printf('+86138%08d', i % 50000), printf('+8610%08d', i % 100), 'ivr_demo',
       strftime('%Y-%m-%dT%H:%M:%fZ', 1700000000 + i * 2, 'unixepoch'),
       strftime('%Y-%m-%dT%H:%M:%fZ', 1700000001 + i * 2, 'unixepoch'),
       strftime('%Y-%m-%dT%H:%M:%fZ', 1700000061 + i * 2, 'unixepoch'),
       61000, 60, 1, 200, CASE i % 3 WHEN 0 THEN 'busy' ELSE 'normal_clearing' END, 'caller',
       printf('{"n":%d,"note":"a, \"quoted\" value"}', i)
FROM n;
