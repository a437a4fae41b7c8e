"""Writes of evaluation work."""

from evaluations.services.aggregation import (
    aggregation_request,
    aggregation_run,
    aggregations_due,
    method_check,
)
from evaluations.services.code_runs import code_run_execute, code_run_request
from evaluations.services.distribution import (
    assignment_draft_save,
    assignment_next,
    assignment_release,
    assignment_skip,
    assignments_expire,
)
from evaluations.services.export import KINDS, export_stream
from evaluations.services.forms import form_set, settings_set
from evaluations.services.import_jobs import import_job_create, import_job_progress, import_job_run
from evaluations.services.imports import (
    ImportResult,
    prelabels_import,
    tasks_import,
    tasks_import_path,
)
from evaluations.services.quality_setup import gold_set, gold_unset, quality_settings_set
from evaluations.services.reviews import (
    appeal_create,
    review_claim,
    review_decide,
    review_get_for_reviewer,
    review_next,
    review_release,
    reviews_expire,
)
from evaluations.services.standing import (
    quality_action_decide,
    standing_compute,
    standings_update,
)
from evaluations.services.submissions import (
    submission_resubmit,
    submission_submit,
    submission_update,
)

__all__ = [
    "KINDS",
    "ImportResult",
    "aggregation_request",
    "aggregation_run",
    "aggregations_due",
    "appeal_create",
    "assignment_draft_save",
    "assignment_next",
    "assignment_release",
    "assignment_skip",
    "assignments_expire",
    "code_run_execute",
    "code_run_request",
    "export_stream",
    "form_set",
    "gold_set",
    "gold_unset",
    "import_job_create",
    "import_job_progress",
    "import_job_run",
    "method_check",
    "prelabels_import",
    "quality_action_decide",
    "quality_settings_set",
    "review_claim",
    "review_decide",
    "review_get_for_reviewer",
    "review_next",
    "review_release",
    "reviews_expire",
    "settings_set",
    "standing_compute",
    "standings_update",
    "submission_resubmit",
    "submission_submit",
    "submission_update",
    "tasks_import",
    "tasks_import_path",
]
