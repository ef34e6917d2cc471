#!/usr/bin/python3
"""Decide pass/fail of one smbtorture invocation from its subunit output.

usage: subunit_verdict.py EXIT_STATUS < smbtorture-output

smbtorture --format=subunit writes subunit v1 lines ("test: NAME",
"success: NAME", "failure: NAME [", detail lines, "]", ...) mixed with the
tests' own prints. A test that prints without a trailing newline glues its
text to the next protocol line ("...10 ops\n0time: ..."), so a keyword is
also accepted right after a digit or punctuation (not after a letter or a
blank, which is prose); such glued result lines count only for names that
a "test:" line announced.

The invocation passes only if smbtorture exited 0, at least one test ran,
and every announced test ended in "success". skip, xfail, uxsuccess,
failure, error, or no result at all (a crash mid-test) are failures: an
entry in the ratchet is expected to pass, not to be skipped.

Prints one line per subtest ("success NAME", "failure NAME: first detail
line", ...) and, last, "VERDICT PASS" or "VERDICT FAIL <reason>".
Exit status: 0 for PASS, 1 for FAIL.
"""
import re
import sys

KEYWORDS = r"(test|success|successful|failure|fail|error|skip|xfail|uxsuccess)"
# At the start of a line, or glued to a test's unterminated print that
# ends in a digit or punctuation (never after a letter or a blank: that is
# prose such as "Creating Directory for testing: x").
LINE = re.compile(r"(?:^|(?<=[^A-Za-z_\s]))" + KEYWORDS + r":\s*(.*?)\s*$")
OUTCOME = {
    "success": "success", "successful": "success",
    "failure": "failure", "fail": "failure",
    "error": "error", "skip": "skip", "xfail": "xfail", "uxsuccess": "uxsuccess",
}


def main() -> int:
    rc = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    unknown = False
    started: list[str] = []
    results: dict[str, tuple[str, str]] = {}
    in_block = None  # name whose detail block we are reading
    detail: list[str] = []
    for raw in sys.stdin.buffer:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if in_block is not None:
            if line.strip() == "]":
                kind, _ = results[in_block]
                first = next((d.strip() for d in detail if d.strip()), "")
                results[in_block] = (kind, first)
                in_block, detail = None, []
            else:
                detail.append(line)
            continue
        if line.startswith("Unknown torture operation"):
            unknown = True
        m = LINE.search(line)
        if not m:
            continue
        kw, rest = m.group(1), m.group(2)
        anchored = m.start() == 0
        opens_block = rest.endswith("[")
        name = rest[:-1].rstrip() if opens_block else rest
        if kw == "test":
            started.append(name)
            continue
        if name not in started and not anchored:
            continue  # a test's own output that merely looks like a keyword
        results[name] = (OUTCOME[kw], "")
        if opens_block:
            in_block, detail = name, []

    bad = []
    for name in started:
        kind, why = results.get(name, ("no-result", "no result line (crash or timeout?)"))
        print(f"{kind} {name}" + (f": {why}" if why else ""))
        if kind != "success":
            bad.append(f"{kind} {name}" + (f": {why[:200]}" if why else ""))
    for name, (kind, why) in results.items():
        if name not in started:
            print(f"{kind} {name}" + (f": {why}" if why else ""))
            if kind != "success":
                bad.append(f"{kind} {name}" + (f": {why[:200]}" if why else ""))

    if unknown:
        print("VERDICT FAIL unknown test name (not in smbtorture --list)")
        return 1
    if rc != 0:
        reason = "timed out" if rc in (124, 137) else f"smbtorture exit status {rc}"
        print(f"VERDICT FAIL {'; '.join(bad) + ' / ' if bad else ''}{reason}")
        return 1
    if not started:
        print("VERDICT FAIL no test ran (unknown test name?)")
        return 1
    if bad:
        print(f"VERDICT FAIL {'; '.join(bad)}")
        return 1
    print("VERDICT PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
