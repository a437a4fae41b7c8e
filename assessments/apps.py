from django.apps import AppConfig

from common.navigation import NavLink


def _is_contributor(user: object) -> bool:
    return hasattr(user, "profile")


def _may_grade(user: object) -> bool:
    has_perm = getattr(user, "has_perm", None)
    return bool(
        has_perm and (has_perm("contributors.review_work") or has_perm("assessments.view_attempt"))
    )


class AssessmentsConfig(AppConfig):
    name = "assessments"
    verbose_name = "Assessments"

    role_permissions = {
        "staff": [
            "assessments.view_assessment",
            "assessments.view_attempt",
            "assessments.view_attemptitem",
            "assessments.view_gradingtask",
            "assessments.view_scoringevent",
        ],
    }
    navigation = (
        NavLink("Assessments", "assessments:list", order=20, visible=_is_contributor),
        NavLink("Grading", "assessments:grading", order=60, visible=_may_grade),
    )

    def ready(self) -> None:
        from assessments.next_step import assessments_next_step, assessments_unlock_hints
        from contributors.next_step import next_step_provider
        from contributors.qualifications import unlock_provider

        next_step_provider(assessments_next_step)
        unlock_provider(assessments_unlock_hints)
