"""Gold tasks: setting their answers, mixing them into the queue, retiring them, keeping them
indistinguishable from normal work, and the Beta posterior of a person's gold accuracy."""

import math

import pytest
from django.db.models import Count
from django.urls import reverse

from common.errors import InvalidInput, PermissionDenied
from evaluations import services
from evaluations.errors import NoTaskAvailable
from evaluations.models import Assignment, GoldAnswer, Task
from evaluations.stats.posterior import beta_posterior
from tests.conftest import api_for
from tests.evaluations.helpers import project_with_tasks, worker
from tests.evaluations.quality_helpers import GOLD, gold_project, take_gold
from tests.marketplace.helpers import qualified, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss():
    return staff()


@pytest.mark.parametrize(
    ("answers", "tolerances", "paths"),
    [
        ({"verdict": "yes", **GOLD}, None, ["answers.verdict"]),
        ({"helpfulness": {"a": 9, "b": 2}}, None, ["answers.helpfulness.a"]),
        ({"helpfulness": {"a": 6, "z": 2}}, None, ["answers.helpfulness.z"]),
        ({"better": {"choice": "c"}}, None, ["answers.better.choice"]),
        (GOLD, {"better": 1}, ["tolerances.better"]),
        (GOLD, {"nothing": 1}, ["tolerances.nothing"]),
        (GOLD, {"helpfulness": 7}, ["tolerances.helpfulness"]),
        (GOLD, {"helpfulness": -1}, ["tolerances.helpfulness"]),
        (GOLD, [1], ["tolerances"]),
        ({"rationale": "A is right because it cites the law."}, None, ["answers"]),
        ("a is right", None, ["answers"]),
    ],
    ids=[
        "unknown-question",
        "off-the-scale",
        "unknown-response",
        "unknown-choice",
        "tolerance-of-a-preference",
        "tolerance-of-no-question",
        "tolerance-wider-than-the-scale",
        "negative-tolerance",
        "tolerances-not-an-object",
        "only-free-text",
        "not-an-object",
    ],
)
def test_a_gold_answer_that_does_not_fit_the_form_is_refused_and_changes_nothing(
    boss, answers, tolerances, paths
) -> None:
    project = project_with_tasks(1, actor=boss)
    task = Task.objects.get(project=project)

    with pytest.raises(InvalidInput) as refused:
        services.gold_set(task_id=task.pk, actor=boss, answers=answers, tolerances=tolerances)

    assert sorted(refused.value.fields) == paths
    task.refresh_from_db()
    assert (task.is_gold, task.overlap) == (False, 1)
    assert not GoldAnswer.objects.exists()


def test_only_staff_set_gold_answers(boss) -> None:
    project = project_with_tasks(1, actor=boss)
    with pytest.raises(PermissionDenied):
        services.gold_set(task_id=Task.objects.get().pk, actor=qualified("general"), answers=GOLD)
    assert not GoldAnswer.objects.exists()
    assert not Task.objects.get(project=project).is_gold


def test_a_gold_answer_is_stored_with_its_tolerances(boss) -> None:
    project = project_with_tasks(1, actor=boss)
    task = Task.objects.get(project=project)
    gold = services.gold_set(
        task_id=task.pk, actor=boss, answers=GOLD, tolerances={"helpfulness": 2}
    )
    assert gold.answers == {
        "helpfulness": {"a": 6, "b": 2},
        "better": {"choice": "a", "strength": None},
    }
    assert gold.tolerances == {"helpfulness": 2}
    task.refresh_from_db()
    assert (task.is_gold, task.overlap) == (True, 50)  # the default gold_max_shows


def test_a_gold_task_leaves_the_normal_queue(boss) -> None:
    project = project_with_tasks(1, actor=boss)
    services.gold_set(task_id=Task.objects.get().pk, actor=boss, answers=GOLD)
    with pytest.raises(NoTaskAvailable):
        services.assignment_next(project_id=project.pk, user=worker(project))


def test_unsetting_gold_returns_the_task_to_the_queue(boss) -> None:
    project = project_with_tasks(1, actor=boss)
    task = Task.objects.get()
    services.gold_set(task_id=task.pk, actor=boss, answers=GOLD)
    services.gold_unset(task_id=task.pk, actor=boss)
    assignment = services.assignment_next(project_id=project.pk, user=worker(project))
    assert assignment.task_id == task.pk
    assert not assignment.task.is_gold
    assert not GoldAnswer.objects.exists()


def test_gold_is_mixed_in_at_the_set_ratio_and_never_twice_to_one_person(boss) -> None:
    # 25 normal and 25 gold tasks: each of 15 people claims 20 times (handing each task back,
    # so every claim draws again). Neither pool runs dry for anyone, so each claim is gold
    # with probability 0.2. Over 300 claims the count of gold is Binomial(300, 0.2): mean 60,
    # standard deviation 6.9; accept ±5 standard deviations, 26 to 94 (a false failure about
    # 1 in 1.7 million runs, as the draw uses the system's randomness). No gold at all, or
    # gold at twice the ratio, falls well outside.
    project = project_with_tasks(50, actor=boss)
    services.quality_settings_set(project_id=project.pk, actor=boss, gold_ratio=0.2)
    for task in Task.objects.filter(project=project).order_by("pk")[:25]:
        services.gold_set(task_id=task.pk, actor=boss, answers=GOLD)
    people = [worker(project) for _ in range(15)]

    for person in people:
        for _ in range(20):
            assignment = services.assignment_next(project_id=project.pk, user=person)
            services.assignment_release(assignment_id=assignment.pk, user=person)

    claims = Assignment.objects.filter(project=project)
    gold = claims.filter(task__is_gold=True).count()
    assert claims.count() == 300
    assert 26 <= gold <= 94
    repeated = claims.values("task", "contributor").annotate(n=Count("pk")).filter(n__gt=1)
    assert list(repeated) == []


def test_a_person_who_had_every_gold_task_gets_only_normal_work(boss) -> None:
    project = project_with_tasks(41, actor=boss)
    services.quality_settings_set(project_id=project.pk, actor=boss, gold_ratio=0.5)
    gold_task = Task.objects.filter(project=project).order_by("pk").first()
    services.gold_set(task_id=gold_task.pk, actor=boss, answers=GOLD)
    person = worker(project)
    services.assignment_release(assignment_id=take_gold(project, person).pk, user=person)

    handed = []
    for _ in range(20):
        assignment = services.assignment_next(project_id=project.pk, user=person)
        handed.append(assignment.task.is_gold)
        services.assignment_release(assignment_id=assignment.pk, user=person)

    assert handed == [False] * 20
    assert Assignment.objects.filter(task=gold_task, contributor=person).count() == 1


def test_a_gold_task_shown_its_limit_of_times_is_retired(boss) -> None:
    project = gold_project(1, actor=boss, gold_max_shows=2)
    gold_task = Task.objects.get(project=project)
    for person in (worker(project), worker(project)):
        assignment = take_gold(project, person)
        services.submission_submit(
            assignment_id=assignment.pk,
            user=person,
            answers={
                "helpfulness": {"a": 6, "b": 2},
                "better": {"choice": "a", "strength": 2},
                "rationale": "A answers the question; B does not.",
            },
        )
    late = worker(project)

    # Each claim would draw gold with probability 0.5: 30 in a row finding nothing shows the
    # task is no longer handed out (a false pass has a probability of 2⁻³⁰).
    for _ in range(30):
        with pytest.raises(NoTaskAvailable):
            services.assignment_next(project_id=project.pk, user=late)
    gold_task.refresh_from_db()
    assert (gold_task.overlap, gold_task.filled, gold_task.completed) == (2, 2, 2)


def test_lowering_the_gold_limit_retires_golds_already_shown_that_often(boss) -> None:
    project = gold_project(1, actor=boss)
    take_gold(project, worker(project))
    services.quality_settings_set(project_id=project.pk, actor=boss, gold_max_shows=1)
    assert Task.objects.values_list("overlap", "filled").get() == (1, 1)
    for _ in range(30):
        with pytest.raises(NoTaskAvailable):
            services.assignment_next(project_id=project.pk, user=worker(project))


def test_a_skipped_gold_task_still_counts_as_shown(boss) -> None:
    project = gold_project(1, actor=boss, gold_max_shows=1)
    first = worker(project)
    services.assignment_skip(
        assignment_id=take_gold(project, first).pk, user=first, reason="Not my field."
    )
    for _ in range(30):
        with pytest.raises(NoTaskAvailable):
            services.assignment_next(project_id=project.pk, user=worker(project))


def keys_of(payload: object) -> object:
    """The shape of a JSON payload: its keys, nested, without the values."""
    if isinstance(payload, dict):
        return {key: keys_of(value) for key, value in payload.items()}
    if isinstance(payload, list):
        return [keys_of(item) for item in payload]
    return type(payload).__name__


def test_a_gold_assignment_looks_exactly_like_a_normal_one_through_the_api(boss) -> None:
    project = project_with_tasks(2, actor=boss)
    services.quality_settings_set(
        project_id=project.pk, actor=boss, gold_ratio=0.5, gold_max_shows=1
    )
    gold_task = Task.objects.filter(project=project).order_by("pk").first()
    services.gold_set(task_id=gold_task.pk, actor=boss, answers=GOLD, tolerances={"helpfulness": 1})
    first, second = worker(project), worker(project)
    take_gold(project, first)  # now retired: the second person can only get the normal task

    gold_view = api_for(first).post(reverse("task-next", args=[project.pk]))
    normal_view = api_for(second).post(reverse("task-next", args=[project.pk]))

    assert (gold_view.status_code, normal_view.status_code) == (200, 200)
    gold_data, normal_data = gold_view.json(), normal_view.json()
    assert gold_data["task"]["id"] == gold_task.pk
    assert normal_data["task"]["id"] != gold_task.pk
    assert keys_of(gold_data) == keys_of(normal_data)
    assert (gold_data["prelabels"], gold_data["draft"]) == ({}, {})
    assert "gold" not in gold_view.content.decode().lower()
    assert "toleran" not in gold_view.content.decode().lower()


def beta_cdf_9_3(x: float) -> float:
    """The CDF of Beta(9, 3), by hand: for whole parameters a, b it is the binomial tail
    P(Binomial(a + b − 1, x) ≥ a) = Σ_{j=9}^{11} C(11, j) xʲ (1 − x)¹¹⁻ʲ."""
    return sum(math.comb(11, j) * x**j * (1 - x) ** (11 - j) for j in range(9, 12))


def test_gold_accuracy_of_8_in_10_has_the_uniform_prior_beta_posterior() -> None:
    # Beta(1 + 8, 1 + 2) = Beta(9, 3): mean 9 / 12 = 0.75, 90% central interval between its
    # 5% and 95% quantiles (0.5299 and 0.9212, to four places).
    posterior = beta_posterior(8, 10)
    assert posterior.mean == pytest.approx(0.75)
    assert posterior.lower == pytest.approx(0.5299, abs=1e-4)
    assert posterior.upper == pytest.approx(0.9212, abs=1e-4)
    assert beta_cdf_9_3(posterior.lower) == pytest.approx(0.05, abs=1e-9)
    assert beta_cdf_9_3(posterior.upper) == pytest.approx(0.95, abs=1e-9)


def test_gold_accuracy_with_no_answers_is_the_prior() -> None:
    posterior = beta_posterior(0, 0)
    assert (posterior.mean, posterior.lower, posterior.upper) == pytest.approx((0.5, 0.05, 0.95))


def test_gold_accuracy_of_2_in_22_lies_wholly_below_a_half() -> None:
    # Beta(3, 21): mean 3 / 24 = 0.125; its 95% quantile, where Σ_{j=3}^{23} C(23, j) xʲ
    # (1 − x)²³⁻ʲ = 0.95, is 0.2492.
    posterior = beta_posterior(2, 22)
    assert posterior.mean == pytest.approx(0.125)
    assert posterior.upper == pytest.approx(0.2492, abs=1e-4)
    tail = sum(
        math.comb(23, j) * posterior.upper**j * (1 - posterior.upper) ** (23 - j)
        for j in range(3, 24)
    )
    assert tail == pytest.approx(0.95, abs=1e-9)
