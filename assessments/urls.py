from django.urls import path

from assessments import views

app_name = "assessments"

urlpatterns = [
    path("", views.assessment_list, name="list"),
    path("attempts/<int:attempt_id>/", views.attempt_page, name="attempt"),
    path(
        "attempts/<int:attempt_id>/items/<int:item_id>/answer/", views.attempt_answer, name="answer"
    ),
    path("attempts/<int:attempt_id>/submit/", views.attempt_submit, name="submit"),
    path("attempts/<int:attempt_id>/result/", views.attempt_result, name="result"),
    path("grading/", views.grading_home, name="grading"),
    path("grading/claim/", views.grading_claim, name="grading_claim"),
    path("grading/<int:task_id>/", views.grading_task, name="grading_task"),
    path("<slug:slug>/", views.assessment_detail, name="detail"),
    path("<slug:slug>/start/", views.assessment_start, name="start"),
]
