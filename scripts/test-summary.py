#!/usr/bin/env python3
"""Counts the results of `make check` in the given build directories and prints one line
"N passed, N failed, N skipped". A cmocka program counts each of its test cases; an end-to-end
test counts as one. Failed includes errors and programs that died before reporting."""
import glob
import os
import re
import sys


def count(builddir):
    passed = failed = skipped = 0
    for trs in sorted(glob.glob(os.path.join(builddir, "tests", "**", "*.trs"), recursive=True)):
        result = "ERROR"
        with open(trs) as f:
            for line in f:
                if line.startswith(":test-result:"):
                    result = line.split()[1]
        log = trs[:-4] + ".log"
        text = open(log, errors="replace").read() if os.path.exists(log) else ""
        ok = re.search(r"^\[  PASSED  \] (\d+) test", text, re.M)
        bad = re.search(r"^\[  FAILED  \] (\d+) test", text, re.M)
        if (ok or bad) and result in ("PASS", "FAIL"):
            passed += int(ok.group(1)) if ok else 0
            failed += int(bad.group(1)) if bad else 0
            if result == "FAIL" and not bad:
                failed += 1  # crashed or leaked after its cases passed
        elif result == "PASS" or result == "XFAIL":
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:
            failed += 1
    return passed, failed, skipped


totals = [0, 0, 0]
for d in sys.argv[1:] or ["."]:
    for i, n in enumerate(count(d)):
        totals[i] += n
print("%d passed, %d failed, %d skipped" % tuple(totals))
