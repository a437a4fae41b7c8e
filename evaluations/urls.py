from django.urls import path

from evaluations import quality_views, views

app_name = "evaluations"

urlpatterns = [
    path("projects/<int:project_id>/next/", views.take_next, name="next"),
    path("projects/<int:project_id>/manage/", views.manage, name="manage"),
    path("tasks/<int:assignment_id>/", views.workspace, name="workspace"),
    path("tasks/<int:assignment_id>/draft/", views.save_draft, name="draft"),
    path("tasks/<int:assignment_id>/submit/", views.submit, name="submit"),
    path("tasks/<int:assignment_id>/skip/", views.skip, name="skip"),
    path("tasks/<int:assignment_id>/release/", views.release, name="release"),
    path("tasks/<int:assignment_id>/runs/", views.run_code, name="run_code"),
    path("runs/<int:run_id>/", views.run_status, name="run_status"),
    path("projects/<int:project_id>/quality/", quality_views.project_quality, name="quality"),
    path(
        "projects/<int:project_id>/quality/leaderboard.svg",
        quality_views.leaderboard_chart,
        name="quality_leaderboard",
    ),
    path(
        "projects/<int:project_id>/quality/accuracy.svg",
        quality_views.accuracy_chart,
        name="quality_accuracy",
    ),
    path(
        "projects/<int:project_id>/quality/backlog.svg",
        quality_views.backlog_chart,
        name="quality_backlog",
    ),
    path("reviews/", quality_views.review_queue, name="reviews"),
    path("reviews/take/", quality_views.review_take, name="review_take"),
    path("reviews/<int:review_id>/", quality_views.review_page, name="review"),
    path(
        "reviews/<int:review_id>/hand-back/", quality_views.review_hand_back, name="review_release"
    ),
    path("quality/", quality_views.my_quality, name="my_quality"),
    path("submissions/<int:submission_id>/", quality_views.submission_page, name="submission"),
]
