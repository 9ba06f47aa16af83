"""Print the closing lines for the test runs of `./run test` (each pytest run prints its own too): the totals over
every run, and each distinct reason tests were skipped for, with how many (a bare clone skips the tests that need
../shared/realdata, and says so here)."""

import sys
import xml.etree.ElementTree as ET
from collections import Counter

passed = failed = skipped = 0
reasons: Counter[str] = Counter()
for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        failed += 1
        print(f"missing test results: {path}")
        continue
    for suite in root.iter("testsuite"):
        tests, fail, err, skip = (int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
        passed += tests - fail - err - skip
        failed += fail + err
        skipped += skip
    for case in root.iter("testcase"):
        for skip in case.findall("skipped"):
            reasons[(skip.get("message") or "no reason given").strip()] += 1
print(f"all suites: {passed} passed, {failed} failed, {skipped} skipped")
for reason, count in reasons.most_common():
    print(f"  skipped {count}: {reason}")
