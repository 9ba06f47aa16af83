"""Print one closing line for the test runs of `make test` (each pytest run prints its own too)."""

import sys
import xml.etree.ElementTree as ET

passed = failed = skipped = 0
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
print(f"all suites: {passed} passed, {failed} failed, {skipped} skipped")
