"""Aggregation as a job: majority and Dawid–Skene labels, rating means, agreement (α, κ), the
model leaderboard, incremental reruns, and the run's life cycle."""

import pytest

from common.errors import PermissionDenied
from evaluations import services
from evaluations.errors import NoMethod
from evaluations.models import AggregateResult, AggregationRun, Submission, Task
from evaluations.schema import form_parse
from tests.evaluations.helpers import jsonl, project_with_tasks, task_line, worker
from tests.marketplace.helpers import qualified, staff

pytestmark = pytest.mark.django_db

AGG_FORM = {
    "questions": [
        {
            "name": "verdict",
            "type": "single_label",
            "prompt": "Is the better response right?",
            "labels": ["good", "bad", "unsure"],
        },
        {"name": "better", "type": "preference", "prompt": "Which response is better?"},
        {"name": "helpfulness", "type": "rating", "prompt": "How helpful?", "min": 1, "max": 7},
        {
            "name": "note",
            "type": "free_text",
            "prompt": "Anything else?",
            "role": "other",
            "required": False,
        },
    ]
}
# The verdicts of three people (A, B, C) on tasks t0..t5, in the order they take them.
VERDICTS = {
    "A": ["good", "bad", "good", "good", "bad", "good"],
    "B": ["good", "bad", "bad", "good", "bad", "good"],
    "C": ["bad", "bad", "unsure", "good", "good", "good"],
}
# Everyone rates response a (model m1) above b (model m2) and prefers it.
RATINGS = {"A": {"a": 5, "b": 2}, "B": {"a": 6, "b": 2}, "C": {"a": 7, "b": 5}}
MAJORITY = ["good", "bad", None, "good", "bad", "good"]  # t2 is a three-way tie


@pytest.fixture
def boss():
    return staff()


def answer(verdict: str, ratings: dict[str, int]) -> dict[str, object]:
    return {"verdict": verdict, "better": {"choice": "a"}, "helpfulness": ratings}


def submit(project, person, answers) -> Submission:
    assignment = services.assignment_next(project_id=project.pk, user=person)
    return services.submission_submit(assignment_id=assignment.pk, user=person, answers=answers)


def answered_project(boss, extra_tasks: int = 0):
    """Six tasks (plus `extra_tasks` left open) answered by A, B and C as in VERDICTS."""
    project = project_with_tasks(6 + extra_tasks, overlap=3, form=AGG_FORM, actor=boss)
    people = {name: worker(project) for name in VERDICTS}
    for name, person in people.items():
        for verdict in VERDICTS[name]:
            submit(project, person, answer(verdict, RATINGS[name]))
    return project, people


def run_now(project, boss) -> AggregationRun:
    run = services.aggregation_request(project_id=project.pk, actor=boss)
    return services.aggregation_run(run_id=run.pk)


def results(project, question: str, method: str) -> list[AggregateResult]:
    return list(
        AggregateResult.objects.filter(project=project, question=question, method=method).order_by(
            "task__external_id"
        )
    )


def test_majority_labels_are_stored_per_task_and_a_tie_has_none(boss) -> None:
    project, _people = answered_project(boss)
    run = run_now(project, boss)

    majority = results(project, "verdict", "majority")
    assert run.status == AggregationRun.Status.DONE
    assert [row.task.external_id for row in majority] == [f"t{n}" for n in range(6)]
    assert [row.value for row in majority] == MAJORITY
    assert [row.confidence for row in majority] == pytest.approx(
        [2 / 3, 1.0, 1 / 3, 1.0, 2 / 3, 1.0], abs=1e-4
    )
    assert {row.n for row in majority} == {3}
    assert {row.run_id for row in majority} == {run.pk}


def test_dawid_skene_labels_agree_with_a_clear_majority(boss) -> None:
    project, _people = answered_project(boss)
    run = run_now(project, boss)

    skene = results(project, "verdict", "dawid_skene")
    labels = [row.value for row in skene]
    # Every task but the tied t2 has a clear majority, which Dawid–Skene keeps.
    assert labels[:2] + labels[3:] == ["good", "bad", "good", "bad", "good"]
    assert labels[2] in {"good", "bad", "unsure"}
    assert all(0 < row.confidence <= 1 for row in skene)
    info = run.summary["questions"]["verdict"]["dawid_skene"]
    assert info["converged"] is True
    assert info["iterations"] >= 1
    assert 0 <= info["median_accuracy"] <= 1


def test_a_question_everyone_answers_alike_gets_that_answer_from_both_methods(boss) -> None:
    project, _people = answered_project(boss)
    run_now(project, boss)
    for method in ("majority", "dawid_skene"):
        rows = results(project, "better", method)
        assert [(row.value, row.confidence, row.n) for row in rows] == [("a", 1.0, 3)] * 6


def test_ratings_get_a_mean_median_and_spread_per_response(boss) -> None:
    project, _people = answered_project(boss)
    run = run_now(project, boss)

    means = results(project, "helpfulness", "mean")
    assert len(means) == 6
    # a: 5, 6, 7 → mean 6, median 6, population spread √(2/3); b: 2, 2, 5 → 3, 2, √2.
    assert means[0].value == {
        "a": {"mean": 6.0, "median": 6.0, "spread": 0.8165},
        "b": {"mean": 3.0, "median": 2.0, "spread": 1.4142},
    }
    assert {str(row.value) for row in means} == {str(means[0].value)}
    assert {row.n for row in means} == {3}
    alpha = run.summary["questions"]["helpfulness"]["alpha"]
    assert set(alpha) == {"ordinal", "interval"}
    assert all(isinstance(value, float) for value in alpha.values())


def test_krippendorff_alpha_of_the_labels_matches_the_hand_computed_value(boss) -> None:
    # Coincidences (each pair within a task weighted 1/2): good–good 7, bad–bad 4,
    # good–bad 2.5 each way, unsure with good and with bad 0.5 each way; n_good 10, n_bad 7,
    # n_unsure 1, n 18. α = 1 − (n − 1)·Σ off-diagonal / Σ_{c≠k} n_c n_k
    #   = 1 − 17 · 7 / (18² − 10² − 7² − 1²) = 1 − 119 / 174 = 0.3161.
    project, _people = answered_project(boss)
    run = run_now(project, boss)
    assert run.summary["questions"]["verdict"]["alpha"] == {"nominal": 0.3161}


def test_cohen_kappa_is_given_for_pairs_who_shared_five_tasks_or_more(boss) -> None:
    # A–B agree on 5 of 6 (chance 1/2): κ = 2/3. A–C agree on 3 of 6 (chance 16/36): κ = 0.1.
    # B–C agree on 3 of 6 (chance 15/36): κ = 1/7.
    project, _people = answered_project(boss)
    run = run_now(project, boss)
    pairs = run.summary["questions"]["verdict"]["kappa_pairs"]
    assert [(pair["shared"], pair["kappa"]) for pair in pairs] == [
        (6, 0.6667),
        (6, 0.1),
        (6, 0.1429),
    ]


def test_cohen_kappa_pairs_name_the_contributors(boss) -> None:
    project, people = answered_project(boss)
    run = run_now(project, boss)
    named = [pair["people"] for pair in run.summary["questions"]["verdict"]["kappa_pairs"]]
    a, b, c = people["A"].pk, people["B"].pk, people["C"].pk
    assert named == [[a, b], [a, c], [b, c]]


def test_there_are_no_kappa_pairs_below_five_shared_tasks(boss) -> None:
    project = project_with_tasks(4, overlap=2, form=AGG_FORM, actor=boss)
    for person in (worker(project), worker(project)):
        for _ in range(4):
            submit(project, person, answer("good", {"a": 6, "b": 2}))
    run = run_now(project, boss)
    assert run.summary["questions"]["verdict"]["kappa_pairs"] == []


def test_the_leaderboard_puts_the_always_preferred_model_first(boss) -> None:
    project, _people = answered_project(boss)
    run = run_now(project, boss)

    board = run.summary["leaderboard"]
    assert board["question"] == "better"
    assert [row["model"] for row in board["models"]] == ["m1", "m2"]
    first, second = board["models"]
    assert first["score"] > second["score"]
    assert (first["wins"], first["games"], first["win_rate"]) == (18.0, 18, 1.0)
    assert (second["wins"], second["games"], second["win_rate"]) == (0.0, 18, 0.0)
    assert all(row["lower"] <= row["score"] <= row["upper"] for row in board["models"])
    assert board["comparisons"] == 18
    assert board["converged"] is True
    assert board["iterations"] >= 1


def test_a_rerun_rewrites_majority_and_mean_only_for_tasks_with_newer_answers(boss) -> None:
    project, _people = answered_project(boss, extra_tasks=1)
    first = run_now(project, boss)
    before = {
        (row.task.external_id, row.question, row.method): (row.run_id, row.updated_at)
        for row in AggregateResult.objects.filter(project=project)
    }
    for _ in range(3):
        submit(project, worker(project), answer("bad", {"a": 4, "b": 4}))

    second = run_now(project, boss)

    after = {
        (row.task.external_id, row.question, row.method): (row.run_id, row.updated_at, row.value)
        for row in AggregateResult.objects.filter(project=project)
    }
    old_tasks = [f"t{n}" for n in range(6)]
    for method, question in (("majority", "verdict"), ("mean", "helpfulness")):
        assert [after[(task, question, method)][:2] for task in old_tasks] == [
            before[(task, question, method)] for task in old_tasks
        ]
        assert after[("t6", question, method)][0] == second.pk
    assert after[("t6", "verdict", "majority")][2] == "bad"
    assert after[("t6", "helpfulness", "mean")][2] == {
        "a": {"mean": 4.0, "median": 4.0, "spread": 0.0},
        "b": {"mean": 4.0, "median": 4.0, "spread": 0.0},
    }
    # Dawid–Skene fits one model over all tasks, so every task's label is written again.
    assert {after[(task, "verdict", "dawid_skene")][0] for task in [*old_tasks, "t6"]} == {
        second.pk
    }
    assert (first.summary["tasks"], second.summary["tasks"]) == (6, 7)


def test_asking_again_while_a_run_is_queued_returns_that_run(boss) -> None:
    project, _people = answered_project(boss)
    first = services.aggregation_request(project_id=project.pk, actor=boss)
    again = services.aggregation_request(project_id=project.pk, actor=boss)
    assert again.pk == first.pk
    assert AggregationRun.objects.filter(project=project).count() == 1
    assert first.status == AggregationRun.Status.QUEUED


def test_a_request_runs_the_job_once_it_commits(boss, django_capture_on_commit_callbacks) -> None:
    project, _people = answered_project(boss)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.aggregation_request(project_id=project.pk, actor=boss)
    run.refresh_from_db()
    assert run.status == AggregationRun.Status.DONE
    assert run.submissions_seen == 18
    assert set(run.summary["questions"]) == {"verdict", "better", "helpfulness"}


def test_a_run_is_due_only_when_answers_changed_since_the_last_one(boss) -> None:
    project, _people = answered_project(boss, extra_tasks=1)
    assert services.aggregations_due() == [
        AggregationRun.objects.get(project=project, status="queued").pk
    ]
    services.aggregation_run(run_id=AggregationRun.objects.get(project=project).pk)
    assert services.aggregations_due() == []

    submit(project, worker(project), answer("good", {"a": 6, "b": 2}))

    (queued,) = services.aggregations_due()
    assert AggregationRun.objects.get(pk=queued).status == AggregationRun.Status.QUEUED


def test_only_staff_ask_for_aggregation(boss) -> None:
    project = project_with_tasks(1, form=AGG_FORM, actor=boss)
    with pytest.raises(PermissionDenied):
        services.aggregation_request(project_id=project.pk, actor=qualified("general"))
    assert not AggregationRun.objects.exists()


def test_a_project_without_submissions_aggregates_to_nothing(boss) -> None:
    project = project_with_tasks(3, form=AGG_FORM, actor=boss)
    run = run_now(project, boss)
    assert (run.status, run.error) == (AggregationRun.Status.DONE, "")
    assert run.summary["questions"] == {}
    assert run.summary["leaderboard"] is None
    assert (run.submissions_seen, run.tasks_updated) == (0, 0)
    assert not AggregateResult.objects.exists()


def test_a_second_delivery_of_a_finished_run_does_nothing(boss) -> None:
    project, _people = answered_project(boss)
    run = run_now(project, boss)
    stamps = sorted(AggregateResult.objects.values_list("pk", "updated_at"))

    again = services.aggregation_run(run_id=run.pk)

    assert (again.status, again.finished_at, again.started_at) == (
        AggregationRun.Status.DONE,
        run.finished_at,
        run.started_at,
    )
    assert sorted(AggregateResult.objects.values_list("pk", "updated_at")) == stamps


def test_rejected_answers_are_left_out(boss) -> None:
    project, _people = answered_project(boss)
    Submission.objects.filter(task__external_id="t0", answers__verdict="bad").update(
        status=Submission.Status.REJECTED
    )
    run = run_now(project, boss)
    t0 = Task.objects.get(project=project, external_id="t0")
    row = AggregateResult.objects.get(task=t0, question="verdict", method="majority")
    assert (row.value, row.n, row.confidence) == ("good", 2, 1.0)
    assert run.submissions_seen == 17


@pytest.mark.parametrize(
    ("question", "method", "field"),
    [
        ("helpfulness", "dawid_skene", "method"),
        ("helpfulness", "majority", "method"),
        ("verdict", "mean", "method"),
        ("note", "majority", "method"),
        ("nothing", "majority", "question"),
    ],
)
def test_a_method_the_question_type_has_not_is_refused(question, method, field) -> None:
    with pytest.raises(NoMethod) as refused:
        services.method_check(form=form_parse(AGG_FORM), question=question, method=method)
    assert refused.value.code == "no_such_method"
    assert refused.value.http_status == 400
    assert list(refused.value.fields) == [field]


def test_free_text_has_no_aggregation_method_at_all() -> None:
    with pytest.raises(NoMethod, match=r"it has: none"):
        services.method_check(form=form_parse(AGG_FORM), question="note", method="mean")


@pytest.mark.parametrize(
    ("question", "method"),
    [
        ("verdict", "majority"),
        ("verdict", "dawid_skene"),
        ("better", "dawid_skene"),
        ("helpfulness", "mean"),
    ],
)
def test_a_method_of_the_question_type_is_accepted(question, method) -> None:
    assert (
        services.method_check(form=form_parse(AGG_FORM), question=question, method=method) is None
    )


def test_the_leaderboard_counts_every_preference_whatever_the_task_priorities(boss) -> None:
    project = project_with_tasks(0, overlap=1, form=AGG_FORM, actor=boss)
    services.tasks_import(
        project_id=project.pk,
        handle=jsonl([task_line(0), task_line(1), task_line(2), task_line(3, priority=5)]),
        fmt="jsonl",
    )
    person = worker(project)
    for _ in range(4):
        submit(project, person, answer("good", {"a": 6, "b": 2}))

    board = run_now(project, boss).summary["leaderboard"]

    assert board["comparisons"] == 4
    assert [(row["model"], row["wins"], row["games"]) for row in board["models"]] == [
        ("m1", 4.0, 4),
        ("m2", 0.0, 4),
    ]


def test_a_task_whose_every_answer_was_rejected_loses_its_aggregate(boss) -> None:
    project, _people = answered_project(boss)
    run_now(project, boss)
    t1 = Task.objects.get(project=project, external_id="t1")
    for submission in Submission.objects.filter(task=t1):
        submission.status = Submission.Status.REJECTED
        submission.save(update_fields=["status", "updated_at"])

    run_now(project, boss)

    # Either no row, or a row that counts no answers: none may still count the rejected ones.
    assert list(AggregateResult.objects.filter(task=t1, n__gt=0)) == []
