import pytest

from tests.assessments.helpers import load_tiny, make_grader
from tests.contributors.factories import ContributorFactory


@pytest.fixture
def tiny(db) -> None:
    load_tiny()


@pytest.fixture
def candidate(db):
    """A verified contributor whose application is in: ready for the Starter Assessment."""
    return ContributorFactory(status="assessing")


@pytest.fixture
def grader_one(db):
    return make_grader("general")


@pytest.fixture
def grader_two(db):
    return make_grader("general")
