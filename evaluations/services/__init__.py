"""Writes of evaluation work."""

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
from evaluations.services.submissions import submission_submit, submission_update

__all__ = [
    "KINDS",
    "ImportResult",
    "assignment_draft_save",
    "assignment_next",
    "assignment_release",
    "assignment_skip",
    "assignments_expire",
    "code_run_execute",
    "code_run_request",
    "export_stream",
    "form_set",
    "import_job_create",
    "import_job_progress",
    "import_job_run",
    "prelabels_import",
    "settings_set",
    "submission_submit",
    "submission_update",
    "tasks_import",
    "tasks_import_path",
]
