"""Figures of the reliability and security suite.

Every such test reports what it tried and found with `figure(name, key=value, ...)`: one line
`FIGURE <name>: key=value ...` on standard output (seen with `pytest -s`), and, when the
environment names a FIGURES_FILE, one JSON line appended to it, which `python3 dev.py figures`
collects into the table in docs/figures.md.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from typing import Any


def figure(name: str, **values: Any) -> str:
    """Report one figure; returns the printed line."""
    line = f"FIGURE {name}: " + " ".join(f"{key}={value}" for key, value in values.items())
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    path = os.environ.get("FIGURES_FILE")
    if path:
        record = {
            "name": name,
            "values": dict(values),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=str) + "\n")
    return line
