from django.apps import AppConfig

from common.navigation import NavLink


def _is_active_contributor(user: object) -> bool:
    profile = getattr(user, "profile", None)
    return profile is not None and profile.status == "active"


def _is_contributor(user: object) -> bool:
    return hasattr(user, "profile")


def _manages_projects(user: object) -> bool:
    has_perm = getattr(user, "has_perm", None)
    return bool(has_perm and has_perm("marketplace.change_project"))


def _reviews_payouts(user: object) -> bool:
    has_perm = getattr(user, "has_perm", None)
    return bool(has_perm and has_perm("marketplace.review_payouts"))


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = "Marketplace"

    role_permissions = {
        "staff": [
            "marketplace.view_project",
            "marketplace.add_project",
            "marketplace.change_project",
            "marketplace.view_tierfloor",
            "marketplace.add_tierfloor",
            "marketplace.view_multiplierrate",
            "marketplace.add_multiplierrate",
            "marketplace.view_membership",
            "marketplace.view_worksession",
            "marketplace.view_manualtimeentry",
            "marketplace.change_manualtimeentry",
            "marketplace.view_earningentry",
            "marketplace.approve_earnings",
            "marketplace.adjust_earnings",
        ],
        "finance_admin": [
            "marketplace.view_project",
            "marketplace.view_earningentry",
            "marketplace.view_worksession",
            "marketplace.approve_earnings",
            "marketplace.adjust_earnings",
            "marketplace.review_payouts",
            "marketplace.view_payoutsettings",
            "marketplace.change_payoutsettings",
            "marketplace.view_payperiod",
            "marketplace.view_payoutbatch",
            "marketplace.view_payout",
            "marketplace.view_payoutitem",
            "marketplace.view_payoutflag",
            "marketplace.view_payoutaudit",
            "marketplace.view_payoutdispatch",
        ],
    }
    navigation = (
        NavLink("Dashboard", "marketplace:dashboard", order=5, visible=_is_active_contributor),
        NavLink("Earnings", "marketplace:earnings", order=30, visible=_is_contributor),
        NavLink("Fair pay", "marketplace:fair_pay", order=70, visible=_manages_projects),
        NavLink(
            "Payout review",
            "admin:marketplace_payoutbatch_changelist",
            order=75,
            visible=_reviews_payouts,
        ),
    )

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from contributors.next_step import next_step_provider
        from marketplace.next_step import marketplace_next_step
        from marketplace.services.rates import rates_defaults_ensure

        next_step_provider(marketplace_next_step)
        post_migrate.connect(
            rates_defaults_ensure, sender=self, dispatch_uid="marketplace.rates_defaults"
        )
