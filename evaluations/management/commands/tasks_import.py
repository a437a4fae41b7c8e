"""Import tasks from a JSONL or CSV file into a project (all or nothing by default)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.errors import DomainError
from evaluations.services import ImportResult, prelabels_import, tasks_import_path


class Command(BaseCommand):
    help = (
        "Import tasks from JSONL or CSV; with bad lines nothing is imported, unless --skip-invalid."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project", type=int, help="The project's id.")
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--format", choices=["jsonl", "csv"], help="Default: from the file's extension."
        )
        parser.add_argument(
            "--skip-invalid", action="store_true", help="Import the good lines, report the rest."
        )
        parser.add_argument(
            "--prelabels",
            action="store_true",
            help="The file holds pre-labels for tasks already imported.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")

        def progress(result: ImportResult) -> None:
            self.stderr.write(f"  {result.lines:,} lines read, {result.invalid:,} bad")

        try:
            if options["prelabels"]:
                with path.open("rb") as handle:
                    result = prelabels_import(project_id=options["project"], handle=handle)
                self.stdout.write(self.style.SUCCESS(f"imported {result.imported:,} pre-labels"))
                return
            result = tasks_import_path(
                project_id=options["project"],
                path=path,
                fmt=options["format"],
                skip_invalid=options["skip_invalid"],
                progress=progress,
            )
        except DomainError as error:
            lines = [f"{key}: {', '.join(msgs)}" for key, msgs in error.fields.items()]
            raise CommandError("\n".join([error.message, *lines[:100]])) from error
        for problem in result.errors:
            self.stderr.write(
                f"skipped line {problem['line']}, {problem['field']}: {problem['problem']}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"imported {result.imported:,} tasks; {result.invalid:,} bad lines skipped"
            )
        )
