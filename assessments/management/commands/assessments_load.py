"""Load the assessment content files; idempotent, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessments.errors import ContentInvalid
from assessments.services import assessment_content_load


class Command(BaseCommand):
    help = "Load assessment content (assessments/content/*.yaml, or the files named). Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "files", nargs="*", help="Content files; default: assessments/content/*.yaml"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        paths = [Path(name) for name in options["files"]] or None
        try:
            report = assessment_content_load(paths=paths)
        except ContentInvalid as error:
            raise CommandError(error.message) from error
        for label in report.created:
            self.stdout.write(self.style.SUCCESS(f"loaded {label}"))
        for label in report.unchanged:
            self.stdout.write(f"unchanged {label}")
