from django.apps import AppConfig

from common.navigation import NavLink


def _is_reviewer(user: object) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_perm(  # type: ignore[attr-defined]
        "contributors.review_work"
    )


def _is_active_contributor(user: object) -> bool:
    profile = getattr(user, "profile", None)
    return profile is not None and profile.status == "active"


class EvaluationsConfig(AppConfig):
    name = "evaluations"
    verbose_name = "Evaluations"

    role_permissions = {
        "staff": [
            "evaluations.view_task",
            "evaluations.add_task",
            "evaluations.view_evaluationform",
            "evaluations.add_evaluationform",
            "evaluations.view_evaluationsettings",
            "evaluations.change_evaluationsettings",
            "evaluations.view_assignment",
            "evaluations.view_submission",
            "evaluations.view_importjob",
            "evaluations.add_importjob",
            "evaluations.view_prelabel",
            "evaluations.view_qualitysettings",
            "evaluations.add_qualitysettings",
            "evaluations.change_qualitysettings",
            "evaluations.view_goldanswer",
            "evaluations.add_goldanswer",
            "evaluations.change_goldanswer",
            "evaluations.delete_goldanswer",
            "evaluations.view_review",
            "evaluations.view_appeal",
            "evaluations.view_aggregationrun",
            "evaluations.view_qualityaction",
        ],
    }

    navigation = (
        NavLink("Reviews", "evaluations:reviews", order=40, visible=_is_reviewer),
        NavLink("My quality", "evaluations:my_quality", order=35, visible=_is_active_contributor),
    )

    def ready(self) -> None:
        from evaluations.selectors import project_actions_for, tasks_left_for
        from marketplace.selectors import project_action_provider, work_left_provider

        work_left_provider(tasks_left_for)
        project_action_provider(project_actions_for)
