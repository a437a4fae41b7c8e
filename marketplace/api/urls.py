from django.urls import path

from marketplace.api import payouts, views

urlpatterns = [
    path("tiers/", views.TierListApi.as_view(), name="tier-list"),
    path("tiers/<str:tier>/floor/", views.TierFloorSetApi.as_view(), name="tier-floor-set"),
    path("multipliers/", views.MultiplierListApi.as_view(), name="multiplier-list"),
    path("multipliers/<str:standing>/", views.MultiplierSetApi.as_view(), name="multiplier-set"),
    path(
        "contributors/<int:user_id>/standing/", views.StandingSetApi.as_view(), name="standing-set"
    ),
    path("projects/", views.ProjectListApi.as_view(), name="project-list"),
    path("projects/<int:project_id>/", views.ProjectDetailApi.as_view(), name="project-detail"),
    path(
        "projects/<int:project_id>/status/",
        views.ProjectTransitionApi.as_view(),
        name="project-transition",
    ),
    path("projects/<int:project_id>/join/", views.ProjectJoinApi.as_view(), name="project-join"),
    path("projects/<int:project_id>/leave/", views.ProjectLeaveApi.as_view(), name="project-leave"),
    path("dashboard/", views.DashboardApi.as_view(), name="dashboard"),
    path("sessions/", views.SessionListApi.as_view(), name="session-list"),
    path(
        "sessions/<int:session_id>/heartbeat/",
        views.SessionHeartbeatApi.as_view(),
        name="session-heartbeat",
    ),
    path("sessions/<int:session_id>/stop/", views.SessionStopApi.as_view(), name="session-stop"),
    path("time-entries/", views.ManualEntryListApi.as_view(), name="time-entry-list"),
    path(
        "time-entries/<int:entry_id>/decision/",
        views.ManualEntryDecisionApi.as_view(),
        name="time-entry-decide",
    ),
    path("earnings/", views.EarningListApi.as_view(), name="earning-list"),
    path("earnings/summary/", views.EarningSummaryApi.as_view(), name="earning-summary"),
    path("earnings/approve/", views.EarningApproveApi.as_view(), name="earning-approve"),
    path("earnings/adjustments/", views.EarningAdjustApi.as_view(), name="earning-adjust"),
    path(
        "earnings/<int:entry_id>/reverse/",
        views.EarningReverseApi.as_view(),
        name="earning-reverse",
    ),
    path("fair-pay/", views.FairPayApi.as_view(), name="fair-pay"),
    path(
        "fair-pay/<int:project_id>/top-up/", views.FairPayTopUpApi.as_view(), name="fair-pay-top-up"
    ),
    path("me/payouts/", payouts.MyPayoutListApi.as_view(), name="my-payout-list"),
    path(
        "me/payouts/<int:payout_id>/", payouts.MyPayoutDetailApi.as_view(), name="my-payout-detail"
    ),
    path("me/statements/<int:period_id>/", payouts.MyStatementApi.as_view(), name="my-statement"),
    path(
        "me/statements/<int:period_id>/csv/",
        payouts.MyStatementCsvApi.as_view(),
        name="my-statement-csv",
    ),
    path(
        "finance/payout-settings/",
        payouts.PayoutSettingsApi.as_view(),
        name="finance-payout-settings",
    ),
    path("finance/periods/", payouts.PayPeriodListApi.as_view(), name="finance-period-list"),
    path(
        "finance/periods/<int:period_id>/build/",
        payouts.PayPeriodBuildApi.as_view(),
        name="finance-period-build",
    ),
    path("finance/batches/", payouts.BatchListApi.as_view(), name="finance-batch-list"),
    path(
        "finance/batches/<int:batch_id>/",
        payouts.BatchDetailApi.as_view(),
        name="finance-batch-detail",
    ),
    path(
        "finance/batches/<int:batch_id>/payouts/",
        payouts.BatchPayoutListApi.as_view(),
        name="finance-batch-payouts",
    ),
    path(
        "finance/batches/<int:batch_id>/approve-unflagged/",
        payouts.BatchApproveUnflaggedApi.as_view(),
        name="finance-batch-approve-unflagged",
    ),
    path(
        "finance/batches/<int:batch_id>/send/",
        payouts.BatchSendApi.as_view(),
        name="finance-batch-send",
    ),
    path(
        "finance/dispatches/<int:dispatch_id>/csv/",
        payouts.DispatchCsvApi.as_view(),
        name="finance-dispatch-csv",
    ),
    path(
        "finance/payouts/mark-paid/",
        payouts.PayoutsMarkPaidApi.as_view(),
        name="finance-payouts-mark-paid",
    ),
    path(
        "finance/payouts/<int:payout_id>/",
        payouts.FinancePayoutDetailApi.as_view(),
        name="finance-payout-detail",
    ),
    path(
        "finance/payouts/<int:payout_id>/approve/",
        payouts.PayoutApproveApi.as_view(),
        name="finance-payout-approve",
    ),
    path(
        "finance/payouts/<int:payout_id>/hold/",
        payouts.PayoutHoldApi.as_view(),
        name="finance-payout-hold",
    ),
    path(
        "finance/payouts/<int:payout_id>/reject/",
        payouts.PayoutRejectApi.as_view(),
        name="finance-payout-reject",
    ),
    path("finance/audit/", payouts.PayoutAuditListApi.as_view(), name="finance-audit"),
    path(
        "finance/reconciliation/",
        payouts.ReconciliationApi.as_view(),
        name="finance-reconciliation",
    ),
]
