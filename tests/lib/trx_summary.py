#!/usr/bin/python3
"""Summarise the .trx files of one `dotnet test` run.

usage: trx_summary.py RESULTS_DIR DOTNET_TEST_EXIT_STATUS [EXPECTED_PROJECT...]

Counts passed / failed / skipped from every *.trx under RESULTS_DIR
(Counters: failed + error + timeout + aborted are failures, notExecuted is
skipped), names the failed tests, and checks that every EXPECTED_PROJECT
(test assembly name, e.g. CaStorage.Core.Tests) produced a result file: a
project whose test host crashed before writing one counts as one failure,
and so does a non-zero `dotnet test` status with no failed test to show
for it.

Prints one line per project, the failed tests, and last
"dotnet: N passed, N failed[, N skipped]". Exit 0 only if nothing failed.
"""
import glob
import os
import re
import sys
import xml.etree.ElementTree as ET

NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}


def projects_in(root: ET.Element) -> set[str]:
    names = set()
    for ut in root.iterfind(".//t:TestDefinitions/t:UnitTest", NS):
        storage = ut.get("storage") or ""
        if storage:
            names.add(re.sub(r"\.dll$", "", os.path.basename(storage), flags=re.I))
    text = "".join(root.itertext())
    names.update(re.findall(r"Discovering: (\S+)", text))
    for dll in re.findall(r"No test is available in (\S+?\.dll)", text):
        names.add(re.sub(r"\.dll$", "", os.path.basename(dll), flags=re.I))
    return names


def main() -> int:
    results_dir, rc = sys.argv[1], int(sys.argv[2])
    expected = sys.argv[3:]
    passed = failed = skipped = 0
    failures: list[str] = []
    seen: set[str] = set()
    files = sorted(glob.glob(os.path.join(results_dir, "**", "*.trx"), recursive=True))
    for path in files:
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            failed += 1
            failures.append(f"{os.path.basename(path)}: unreadable trx ({e})")
            continue
        # Count the results themselves (the Counters element leaves skipped
        # tests out of notExecuted), and never report fewer failures than
        # the Counters do (an aborted run may have no result elements).
        p = f = s = 0
        for r in root.iterfind(".//t:Results/t:UnitTestResult", NS):
            outcome = r.get("outcome", "")
            if outcome == "Passed":
                p += 1
            elif outcome in ("NotExecuted", "NotRunnable"):
                s += 1
            else:
                f += 1
        c = root.find(".//t:ResultSummary/t:Counters", NS)
        if c is not None:
            counted = sum(int(c.get(k, "0")) for k in ("failed", "error", "timeout", "aborted"))
            f = max(f, counted)
        names = projects_in(root)
        seen |= {n.lower() for n in names}
        # storage paths come lower-cased: show one spelling per project
        by_key: dict[str, str] = {}
        for n in sorted(names, key=lambda n: n == n.lower()):
            by_key.setdefault(n.lower(), n)
        names = set(by_key.values())
        outcome = root.find(".//t:ResultSummary", NS)
        run_outcome = outcome.get("outcome", "") if outcome is not None else ""
        print(f"  {', '.join(sorted(names)) or os.path.basename(path)}: "
              f"{p} passed, {f} failed, {s} skipped ({run_outcome or 'no outcome'})")
        if run_outcome in ("Aborted", "Error", "Timeout", "Failed") and f == 0:
            f = 1
            failures.append(f"{', '.join(sorted(names))}: test run {run_outcome}")
        passed, failed, skipped = passed + p, failed + f, skipped + s
        for r in root.iterfind(".//t:Results/t:UnitTestResult", NS):
            if r.get("outcome") not in ("Passed", "NotExecuted", "NotRunnable"):
                msg = r.find("t:Output/t:ErrorInfo/t:Message", NS)
                first = (msg.text or "").strip().splitlines()[0] if msg is not None and msg.text else ""
                failures.append(f"{r.get('testName')}: {first[:200]}")

    for proj in expected:
        if proj.lower() not in seen:
            failed += 1
            failures.append(f"{proj}: no test results (did not build, or its test host crashed)")
            print(f"  {proj}: NO RESULTS")
    if rc != 0 and failed == 0:
        failed += 1
        failures.append(f"dotnet test exited with status {rc} but reported no failed test")
    if failures:
        print("failed:")
        for f in failures:
            print(f"  {f}")
    line = f"dotnet: {passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
