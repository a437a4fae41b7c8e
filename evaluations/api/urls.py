from django.urls import path

from evaluations.api import quality, views

urlpatterns = [
    path(
        "projects/<int:project_id>/evaluation/form/",
        views.ProjectFormApi.as_view(),
        name="evaluation-form",
    ),
    path(
        "projects/<int:project_id>/evaluation/settings/",
        views.ProjectSettingsApi.as_view(),
        name="evaluation-settings",
    ),
    path("projects/<int:project_id>/imports/", views.ImportCreateApi.as_view(), name="task-import"),
    path("projects/<int:project_id>/export/", views.ExportApi.as_view(), name="project-export"),
    path(
        "projects/<int:project_id>/prelabels/",
        views.PrelabelImportApi.as_view(),
        name="prelabel-import",
    ),
    path("projects/<int:project_id>/next/", views.NextTaskApi.as_view(), name="task-next"),
    path("imports/<int:job_id>/", views.ImportJobApi.as_view(), name="task-import-detail"),
    path(
        "assignments/<int:assignment_id>/", views.AssignmentApi.as_view(), name="assignment-detail"
    ),
    path(
        "assignments/<int:assignment_id>/draft/",
        views.AssignmentDraftApi.as_view(),
        name="assignment-draft",
    ),
    path(
        "assignments/<int:assignment_id>/submit/",
        views.AssignmentSubmitApi.as_view(),
        name="assignment-submit",
    ),
    path(
        "assignments/<int:assignment_id>/skip/",
        views.AssignmentSkipApi.as_view(),
        name="assignment-skip",
    ),
    path(
        "assignments/<int:assignment_id>/release/",
        views.AssignmentReleaseApi.as_view(),
        name="assignment-release",
    ),
    path(
        "assignments/<int:assignment_id>/runs/",
        views.CodeRunCreateApi.as_view(),
        name="code-run-create",
    ),
    path("runs/<int:run_id>/", views.CodeRunApi.as_view(), name="code-run-detail"),
    path("submissions/", views.SubmissionListApi.as_view(), name="submission-list"),
    path(
        "submissions/<int:submission_id>/",
        views.SubmissionUpdateApi.as_view(),
        name="submission-update",
    ),
    path(
        "submissions/<int:submission_id>/feedback/",
        quality.SubmissionFeedbackApi.as_view(),
        name="submission-feedback",
    ),
    path(
        "submissions/<int:submission_id>/resubmit/",
        quality.SubmissionResubmitApi.as_view(),
        name="submission-resubmit",
    ),
    path(
        "submissions/<int:submission_id>/appeal/",
        quality.SubmissionAppealApi.as_view(),
        name="submission-appeal",
    ),
    path(
        "projects/<int:project_id>/quality/settings/",
        quality.QualitySettingsApi.as_view(),
        name="quality-settings",
    ),
    path(
        "projects/<int:project_id>/quality/",
        quality.ProjectQualityApi.as_view(),
        name="project-quality",
    ),
    path(
        "projects/<int:project_id>/aggregations/",
        quality.AggregationCreateApi.as_view(),
        name="aggregation-create",
    ),
    path(
        "projects/<int:project_id>/aggregates/",
        quality.AggregateListApi.as_view(),
        name="aggregate-list",
    ),
    path("aggregations/<int:run_id>/", quality.AggregationApi.as_view(), name="aggregation-detail"),
    path("tasks/<int:task_id>/gold/", quality.GoldApi.as_view(), name="task-gold"),
    path("reviews/queue/", quality.ReviewQueueApi.as_view(), name="review-queue"),
    path("reviews/next/", quality.ReviewNextApi.as_view(), name="review-next"),
    path("reviews/<int:review_id>/", quality.ReviewApi.as_view(), name="review-detail"),
    path("reviews/<int:review_id>/claim/", quality.ReviewClaimApi.as_view(), name="review-claim"),
    path(
        "reviews/<int:review_id>/verdict/",
        quality.ReviewVerdictApi.as_view(),
        name="review-verdict",
    ),
    path(
        "reviews/<int:review_id>/release/",
        quality.ReviewReleaseApi.as_view(),
        name="review-release",
    ),
    path("me/quality/", quality.MyQualityApi.as_view(), name="my-quality"),
    path("quality-actions/", quality.QualityActionListApi.as_view(), name="quality-action-list"),
    path(
        "quality-actions/<int:action_id>/decide/",
        quality.QualityActionDecideApi.as_view(),
        name="quality-action-decide",
    ),
]
