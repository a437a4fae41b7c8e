from django.apps import AppConfig


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
        ],
    }

    def ready(self) -> None:
        from evaluations.selectors import project_actions_for, tasks_left_for
        from marketplace.selectors import project_action_provider, work_left_provider

        work_left_provider(tasks_left_for)
        project_action_provider(project_actions_for)
