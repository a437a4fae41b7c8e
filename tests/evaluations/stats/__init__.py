"""Tests of evaluations.stats, most against published figures on the data in shared/data."""

from pathlib import Path

import pytest

# shared/data lies beside the repository (CI copies it there); see its README.
DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


def shared_data(folder: str) -> Path:
    """The folder of shared/data with that name, or skip the test saying where it was looked for."""
    path = DATA / folder
    if not path.is_dir():
        pytest.skip(
            f"published data sets not found at {path.resolve()} (shared/data beside the repo)"
        )
    return path
