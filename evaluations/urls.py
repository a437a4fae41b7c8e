from django.urls import path

from evaluations import views

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
]
