"""Hostile programs for the code sandbox (common/sandbox.py), as data.

`ATTACKS` (in `attacks.py`) lists each program with what "escape" means for it and how the test
(tests/assessments/test_sandbox_corpus.py) detects it. The programs are Python sources with
placeholders (`@MARKER@`, `@PORT@`, …) that the test fills per run; `render()` does that.
"""

from tests.sandbox_corpus.attacks import ATTACKS, Attack, render

__all__ = ["ATTACKS", "Attack", "render"]
