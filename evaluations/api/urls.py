from django.urls import path

from evaluations.api import views

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
]
