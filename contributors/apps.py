from django.apps import AppConfig
from django.db.models.signals import post_migrate

from common.navigation import NavLink


def _is_contributor(user: object) -> bool:
    return hasattr(user, "profile")


def _can_manage_contributors(user: object) -> bool:
    return bool(getattr(user, "has_perm", lambda _: False)("contributors.view_contributorprofile"))


class ContributorsConfig(AppConfig):
    name = "contributors"
    verbose_name = "Contributors"

    role_permissions = {
        "contributor": [],
        "reviewer": ["contributors.review_work"],
        "expert_reviewer": ["contributors.review_work", "contributors.review_as_expert"],
        "staff": [
            "contributors.view_user",
            "contributors.view_contributorprofile",
            "contributors.change_contributorprofile",
            "contributors.change_contributor_status",
            "contributors.view_contributorstatuschange",
            "contributors.view_standingchange",
            "contributors.add_standingchange",
        ],
        "finance_admin": [
            "contributors.view_user",
            "contributors.view_contributorprofile",
        ],
    }
    navigation = (
        NavLink("Home", "contributors:home", order=0),
        NavLink("Application", "contributors:application", order=10, visible=_is_contributor),
        NavLink("Profile", "contributors:profile", order=90, visible=_is_contributor),
    )

    def ready(self) -> None:
        from contributors.roles import roles_sync

        post_migrate.connect(roles_sync, sender=self, dispatch_uid="contributors.roles_sync")
