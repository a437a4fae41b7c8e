"""Give the demo projects an evaluation form and a few tasks (idempotent). Development only."""

from __future__ import annotations

import io
from typing import Any

import orjson
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from contributors.models import User
from evaluations.models import Task
from evaluations.selectors import form_current
from evaluations.services import form_set, settings_set, tasks_import
from marketplace.models import Project

COMPARE_FORM = {
    "questions": [
        {
            "name": "helpfulness",
            "type": "rating",
            "prompt": "How helpful is each response?",
            "min": 1,
            "max": 7,
            "labels": {"1": "Not at all", "4": "Somewhat", "7": "Extremely"},
        },
        {
            "name": "accuracy",
            "type": "rating",
            "prompt": "How accurate is each response?",
            "min": 1,
            "max": 7,
            "labels": {"1": "Wrong", "7": "Fully correct"},
        },
        {
            "name": "better",
            "type": "preference",
            "prompt": "Which response is better overall?",
            "strength": True,
        },
        {
            "name": "rationale",
            "type": "free_text",
            "prompt": "Why? Name the specific differences.",
            "min_length": 20,
            "max_length": 3000,
        },
    ]
}

PAIRS = [
    (
        "How long should I boil an egg for a runny yolk?",
        "About 6 minutes in boiling water for a large egg straight from the fridge, then cool it"
        " in cold water.",
        "Boil it for 15 minutes so the yolk stays runny.",
    ),
    (
        "What is the capital of Australia?",
        "The capital of Australia is Sydney, its largest city.",
        "Canberra. It was chosen as a compromise between Sydney and Melbourne and became the"
        " capital in 1913.",
    ),
    (
        "Explain what a Python list comprehension is, briefly.",
        "A compact way to build a list from an iterable: `[x * 2 for x in numbers if x > 0]`.",
        "It is a loop that prints each element of a list.",
    ),
    (
        "Is it safe to mix bleach and vinegar for cleaning?",
        "Yes, the mix cleans better than either alone.",
        "No. Mixing them releases chlorine gas, which harms your lungs. Use one at a time and"
        " rinse between.",
    ),
    (
        "Summarise the causes of the First World War in two sentences.",
        "Militarism, alliances, imperial rivalry and nationalism made Europe tense; the "
        "assassination of Archduke Franz Ferdinand in June 1914 set off a chain of declarations "
        "of war.",
        "WW1 happened because a duke died.",
    ),
    (
        "How do I convert 72°F to Celsius?",
        "Subtract 32 and multiply by 5/9: (72 − 32) × 5/9 ≈ 22.2 °C.",
        "Divide by 2: 72°F is 36 °C.",
    ),
]


class Command(BaseCommand):
    help = "Give the demo projects an evaluation form and tasks (idempotent). DEBUG only."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_tasks is for development only (DEBUG is off).")
        staff = User.objects.filter(email="staff@demo.local").first()
        if staff is None:
            raise CommandError("Run demo_load and demo_projects first.")
        for title in ("Chatbot answer comparisons", "Rate summaries for faithfulness"):
            project = Project.objects.filter(title=title).first()
            if project is None or Task.objects.filter(project=project).exists():
                continue
            if form_current(project=project) is None:
                form_set(project_id=project.pk, actor=staff, schema=COMPARE_FORM)
            settings_set(project_id=project.pk, actor=staff, overlap=2)
            lines = [
                {
                    "external_id": f"demo-{n}",
                    "prompt": prompt,
                    "responses": [
                        {"id": "a", "text": first, "model": "model-x"},
                        {"id": "b", "text": second, "model": "model-y"},
                    ],
                }
                for n, (prompt, first, second) in enumerate(PAIRS)
            ]
            data = io.BytesIO(b"".join(orjson.dumps(line) + b"\n" for line in lines))
            result = tasks_import(project_id=project.pk, handle=data, fmt="jsonl")
            self.stdout.write(f"  {project.title}: {result.imported} tasks")
