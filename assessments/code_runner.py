"""Grade a code answer: run the candidate's function against the hidden tests in the sandbox.

The candidate's code and a harness run inside common.sandbox. The harness only calls the
function on each test's arguments and prints the return values; the expected values never
enter the sandbox, so the comparison, done here outside it, cannot be forged by the code.
"""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from common.sandbox import Outcome, SandboxLimits, sandbox_python, sandbox_run

HARNESS = r"""
import json, sys
NONCE, FUNCTION = sys.argv[1], sys.argv[2]
sys.path.insert(0, "/sandbox")  # -I leaves the script's folder off the path

def emit(payload):
    sys.stdout.write("\n" + NONCE + json.dumps(payload) + "\n")
    sys.stdout.flush()

try:
    with open("cases.json") as handle:
        cases = json.load(handle)
    import solution
    function = getattr(solution, FUNCTION)
except BaseException as error:
    emit({"error": (type(error).__name__ + ": " + str(error))[:500]})
    raise SystemExit(0)

results = []
for args in cases:
    try:
        value = function(*args)
        json.dumps(value)
        results.append({"value": value})
    except BaseException as error:
        results.append({"error": (type(error).__name__ + ": " + str(error))[:300]})
emit({"results": results})
"""

LIMITS = SandboxLimits(cpu_seconds=3, wall_seconds=8.0, memory_bytes=256 * 1024 * 1024)


@dataclass
class CodeGrade:
    passed: int
    total: int
    outcome: str
    reason: str
    cases: list[dict[str, Any]] = field(default_factory=list)
    stderr: str = ""

    @property
    def share(self) -> Decimal:
        return Decimal(self.passed) / Decimal(self.total) if self.total else Decimal(0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "total": self.total,
            "outcome": self.outcome,
            "reason": self.reason,
            "cases": self.cases,
            "stderr": self.stderr[-2000:],
        }


def _same(value: Any, expected: Any, tolerance: float | None) -> bool:
    if (
        tolerance is not None
        and isinstance(value, int | float)
        and isinstance(expected, int | float)
    ):
        return not isinstance(value, bool) and math.isclose(value, expected, abs_tol=tolerance)
    return json.loads(json.dumps(value)) == expected


def _report_read(stdout: str, nonce: str) -> dict[str, Any] | None:
    """The harness's report: the last line that starts with the nonce, if it holds an object.

    The code under test knows the nonce (it is in the harness's arguments) and may forge that
    line with anything: other JSON than an object, or arrays nested past Python's recursion
    limit, which json.loads refuses with RecursionError rather than ValueError.
    """
    for line in reversed(stdout.splitlines()):
        if line.startswith(nonce):
            try:
                report = json.loads(line[len(nonce) :])
            except (ValueError, RecursionError):
                return None
            return report if isinstance(report, dict) else None
    return None


def code_tests_run(*, question: dict[str, Any], code: str) -> CodeGrade:
    """Run the hidden tests of a code question against `code`; every failure has its reason."""
    tests = question["tests"]
    nonce = secrets.token_hex(16)
    result = sandbox_run(
        command=[sandbox_python(), "-I", "-S", "harness.py", nonce, question["function"]],
        files={
            "harness.py": HARNESS,
            "solution.py": code,
            "cases.json": json.dumps([test["args"] for test in tests]),
        },
        limits=LIMITS,
    )
    if result.outcome == Outcome.UNAVAILABLE:
        return CodeGrade(0, len(tests), str(result.outcome), result.reason, stderr=result.stderr)
    report = _report_read(result.stdout, nonce)
    results = report.get("results") if report else None
    if (
        not isinstance(results, list)
        or len(results) != len(tests)
        or not all(isinstance(got, dict) for got in results)
    ):
        reason = (
            result.reason if result.outcome != Outcome.OK else "The code did not finish the tests."
        )
        if report and "error" in report:
            reason = f"The code could not be loaded: {report['error']}"
        return CodeGrade(0, len(tests), str(result.outcome), reason, stderr=result.stderr)
    cases = []
    passed = 0
    for number, (test, got) in enumerate(zip(tests, results, strict=True), start=1):
        ok = "value" in got and _same(got["value"], test["expected"], test.get("tolerance"))
        passed += ok
        cases.append({"test": number, "passed": ok, "error": got.get("error", "")})
    reason = f"{passed} of {len(tests)} hidden tests passed."
    return CodeGrade(
        passed, len(tests), str(result.outcome), reason, cases=cases, stderr=result.stderr
    )
