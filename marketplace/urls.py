from django.urls import path

from marketplace import views

app_name = "marketplace"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("projects/<int:project_id>/", views.project_page, name="project"),
    path("projects/<int:project_id>/join/", views.project_join, name="join"),
    path("projects/<int:project_id>/leave/", views.project_leave, name="leave"),
    path("projects/<int:project_id>/sessions/start/", views.session_start, name="session_start"),
    path("projects/<int:project_id>/time/", views.manual_time, name="manual_time"),
    path("sessions/<int:session_id>/stop/", views.session_stop, name="session_stop"),
    path("sessions/<int:session_id>/heartbeat/", views.session_heartbeat, name="session_heartbeat"),
    path("earnings/", views.earnings, name="earnings"),
    path("earnings/weeks.svg", views.earnings_chart, name="earnings_chart"),
    path("earnings/payouts/", views.payouts, name="payouts"),
    path("earnings/payouts/<int:payout_id>/", views.payout, name="payout"),
    path("earnings/statements/", views.statement, name="statement_latest"),
    path("earnings/statements/<int:period_id>/", views.statement, name="statement"),
    path("earnings/statements/<int:period_id>.csv", views.statement_csv, name="statement_csv"),
    path("fair-pay/", views.fair_pay, name="fair_pay"),
]
