from django.urls import path

from contributors.api import views

urlpatterns = [
    path("auth/signup/", views.SignUpApi.as_view(), name="auth-signup"),
    path("auth/token/", views.TokenApi.as_view(), name="auth-token"),
    path("auth/email/verify/", views.EmailVerifyApi.as_view(), name="auth-email-verify"),
    path(
        "auth/email/resend/", views.EmailVerificationResendApi.as_view(), name="auth-email-resend"
    ),
    path("me/", views.MeApi.as_view(), name="me"),
    path("me/profile/", views.MyProfileApi.as_view(), name="me-profile"),
    path("me/application/", views.MyApplicationApi.as_view(), name="me-application"),
    path(
        "me/application/submit/",
        views.MyApplicationSubmitApi.as_view(),
        name="me-application-submit",
    ),
    path("profiles/", views.ProfileListApi.as_view(), name="profile-list"),
    path("profiles/<int:profile_id>/", views.ProfileDetailApi.as_view(), name="profile-detail"),
    path(
        "profiles/<int:profile_id>/history/",
        views.ProfileHistoryApi.as_view(),
        name="profile-history",
    ),
    path(
        "profiles/<int:profile_id>/status/",
        views.ProfileStatusChangeApi.as_view(),
        name="profile-status-change",
    ),
]
