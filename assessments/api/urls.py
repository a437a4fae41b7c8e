from django.urls import path

from assessments.api import views

urlpatterns = [
    path("assessments/", views.AssessmentListApi.as_view(), name="assessment-list"),
    path("assessments/<slug:slug>/", views.AssessmentDetailApi.as_view(), name="assessment-detail"),
    path("attempts/", views.AttemptListApi.as_view(), name="attempt-list"),
    path("attempts/<int:attempt_id>/", views.AttemptDetailApi.as_view(), name="attempt-detail"),
    path(
        "attempts/<int:attempt_id>/items/<int:item_id>/answer/",
        views.AttemptAnswerApi.as_view(),
        name="attempt-answer",
    ),
    path(
        "attempts/<int:attempt_id>/submit/", views.AttemptSubmitApi.as_view(), name="attempt-submit"
    ),
    path("attempts/<int:attempt_id>/trail/", views.AttemptTrailApi.as_view(), name="attempt-trail"),
    path("grading/tasks/", views.GradingTaskListApi.as_view(), name="grading-task-list"),
    path("grading/tasks/claim/", views.GradingTaskClaimApi.as_view(), name="grading-task-claim"),
    path(
        "grading/tasks/<int:task_id>/",
        views.GradingTaskDetailApi.as_view(),
        name="grading-task-detail",
    ),
    path(
        "grading/tasks/<int:task_id>/submit/",
        views.GradingTaskSubmitApi.as_view(),
        name="grading-task-submit",
    ),
    path("grading/backlog/", views.GradingBacklogApi.as_view(), name="grading-backlog"),
]
