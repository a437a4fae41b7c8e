from django.urls import path

from marketplace.api import views

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
]
