"""Import jobs: an uploaded file imported by a Celery worker, with progress to watch."""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import IO

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from common.errors import DomainError, PermissionDenied
from common.jobs import enqueue_on_commit
from common.outages import CACHE_DOWN
from contributors.models import User
from evaluations.models import ImportJob
from evaluations.services.imports import ImportResult, tasks_import

logger = logging.getLogger(__name__)


def _progress_key(job_id: int) -> str:
    return f"evaluations:import:{job_id}"


def import_job_progress(job: ImportJob) -> dict[str, object]:
    """Where a job stands: live counts while it runs (from the cache), final ones after."""
    if job.status == ImportJob.Status.RUNNING:
        try:
            live = cache.get(_progress_key(job.pk))
        except CACHE_DOWN:
            live = None  # the live count only informs: the stored state answers meanwhile
        if live:
            return {"status": job.status, **live}
    return job.as_progress()


def import_job_create(
    *, project_id: int, actor: User, upload: IO[bytes], name: str, fmt: str, skip_invalid: bool
) -> ImportJob:
    """Store an uploaded file and queue its import."""
    from evaluations.tasks import import_job_run_task

    if not actor.has_perm("evaluations.add_importjob"):
        raise PermissionDenied("Only staff import tasks.")
    job = ImportJob(project_id=project_id, created_by=actor, format=fmt, skip_invalid=skip_invalid)
    job.file.save(name, upload, save=False)
    job.save()
    enqueue_on_commit(import_job_run_task, job.pk)
    return job


def import_job_run(*, job_id: int) -> ImportJob | None:
    """Run a queued import. A second delivery of the same job does nothing."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status in (ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED):
            return job
        job.status = ImportJob.Status.RUNNING
        job.started_at = timezone.now()
        job.save(update_fields=["status", "started_at"])

    def progress(result: ImportResult) -> None:
        # A cache outage costs the live count, never the import.
        with suppress(*CACHE_DOWN):
            cache.set(
                _progress_key(job_id),
                {"lines_read": result.lines, "imported": 0, "invalid": result.invalid},
                timeout=24 * 3600,
            )

    try:
        # The tasks and the job's success commit together, under the job's row lock: a second
        # delivery waits for this run and finds the job done, and a run that dies midway leaves
        # nothing imported (the sweeper runs it again) rather than tasks of a job still running.
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=job_id)
            if job.status != ImportJob.Status.RUNNING:
                return job
            with job.file.open("rb") as handle:
                result = tasks_import(
                    project_id=job.project_id,
                    handle=handle,
                    fmt=job.format,
                    skip_invalid=job.skip_invalid,
                    job_id=job.pk,
                    progress=progress,
                )
            ImportJob.objects.filter(pk=job_id).update(
                status=ImportJob.Status.SUCCEEDED,
                finished_at=timezone.now(),
                lines_read=result.lines,
                imported=result.imported,
                invalid=result.invalid,
                errors=result.errors,
            )
    except DomainError as error:
        # Nothing was imported; say why, line by line where there are lines.
        failed: ImportResult | None = getattr(error, "result", None)
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED,
            finished_at=timezone.now(),
            lines_read=failed.lines if failed else 0,
            invalid=failed.invalid if failed else 0,
            errors=failed.errors
            if failed
            else [{"line": 0, "field": "file", "problem": error.message}],
        )
    with suppress(*CACHE_DOWN):
        cache.delete(_progress_key(job_id))
    return ImportJob.objects.get(pk=job_id)
