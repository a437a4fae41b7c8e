"""HTTP API of accounts, profiles and applications: parse, call a service or selector, answer."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.schema import error_responses
from contributors import selectors, services
from contributors.api.permissions import has_permission
from contributors.api.serializers import (
    ApplicationOutput,
    EmailVerifyInput,
    MeOutput,
    ProfileOutput,
    ProfileUpdateInput,
    SignUpInput,
    StatusChangeInput,
    StatusChangeOutput,
    TokenCreateInput,
    TokenOutput,
)
from contributors.models import ContributorProfile, User
from contributors.next_step import next_step_for


def me_data(user: User) -> dict[str, object]:
    profile = getattr(user, "profile", None)
    return {
        "id": user.pk,
        "email": user.email,
        "full_name": user.full_name,
        "email_verified": user.is_email_verified,
        "roles": selectors.user_roles(user=user),
        "profile_id": profile.pk if profile else None,
        "status": profile.status if profile else None,
        "next_step": next_step_for(user).as_dict(),
    }


def application_data(profile: ContributorProfile) -> dict[str, object]:
    missing = services.application_missing_fields(profile=profile)
    submitted = profile.application_submitted_at is not None
    return {
        "status": profile.status,
        "submitted_at": profile.application_submitted_at,
        "email_verified": profile.user.is_email_verified,
        "missing": missing,
        "can_submit": not submitted
        and not missing
        and profile.user.is_email_verified
        and profile.status == ContributorProfile.Status.APPLICANT,
    }


class SignUpApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="auth_signup",
        request=SignUpInput,
        responses={201: MeOutput, **error_responses(400)},
        summary="Open a contributor account; a verification link is mailed.",
    )
    def post(self, request: Request) -> Response:
        payload = SignUpInput(data=request.data)
        payload.is_valid(raise_exception=True)
        user = services.user_sign_up(**payload.validated_data)
        return Response(MeOutput(me_data(user)).data, status=status.HTTP_201_CREATED)


class TokenApi(APIView):
    def get_permissions(self) -> list[object]:
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(
        operation_id="auth_token_create",
        request=TokenCreateInput,
        responses={200: TokenOutput, **error_responses(400, 403, 429)},
        summary="Exchange e-mail and password for an API token (header: Authorization: Token …).",
        description=(
            "Failed attempts are limited per account and per client address; over a limit the "
            "answer is 429 with a Retry-After header, and the password is not checked."
        ),
    )
    def post(self, request: Request) -> Response:
        payload = TokenCreateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        user = services.user_authenticate(request=request._request, **payload.validated_data)
        token, _created = Token.objects.get_or_create(user=user)
        return Response(TokenOutput({"token": token.key}).data)

    @extend_schema(
        operation_id="auth_token_delete",
        request=None,
        responses={204: None, **error_responses(401)},
        summary="Revoke the caller's API token.",
    )
    def delete(self, request: Request) -> Response:
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailVerifyApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="auth_email_verify",
        request=EmailVerifyInput,
        responses={200: MeOutput, **error_responses(400)},
        summary="Verify an e-mail address with the token from the mailed link.",
    )
    def post(self, request: Request) -> Response:
        payload = EmailVerifyInput(data=request.data)
        payload.is_valid(raise_exception=True)
        user = services.email_verify(token=payload.validated_data["token"])
        if request.user.is_authenticated and request.user.pk == user.pk:
            request.user.email_verified_at = user.email_verified_at
        return Response(MeOutput(me_data(user)).data)


class EmailVerificationResendApi(APIView):
    @extend_schema(
        operation_id="auth_email_resend",
        request=None,
        responses={202: None, **error_responses(401, 409)},
        summary="Mail a new verification link to the caller.",
    )
    def post(self, request: Request) -> Response:
        services.email_verification_resend(user=request.user)
        return Response(status=status.HTTP_202_ACCEPTED)


class MeApi(APIView):
    @extend_schema(
        operation_id="me_retrieve",
        responses={200: MeOutput, **error_responses(401)},
        summary="The current user, their roles, status and next step.",
    )
    def get(self, request: Request) -> Response:
        return Response(MeOutput(me_data(request.user)).data)


class MyProfileApi(APIView):
    @extend_schema(
        operation_id="me_profile_retrieve",
        responses={200: ProfileOutput, **error_responses(401, 404)},
    )
    def get(self, request: Request) -> Response:
        profile = selectors.profile_get_own(user=request.user)
        return Response(ProfileOutput(profile).data)

    @extend_schema(
        operation_id="me_profile_update",
        request=ProfileUpdateInput,
        responses={200: ProfileOutput, **error_responses(400, 401, 403, 404)},
        summary="Replace the profile (every field).",
    )
    def put(self, request: Request) -> Response:
        return self._update(request, partial=False)

    @extend_schema(
        operation_id="me_profile_partial_update",
        request=ProfileUpdateInput(partial=True),
        responses={200: ProfileOutput, **error_responses(400, 401, 403, 404)},
        summary="Change some fields; a list given replaces the stored list.",
    )
    def patch(self, request: Request) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, *, partial: bool) -> Response:
        profile = selectors.profile_get_own(user=request.user)
        payload = ProfileUpdateInput(data=request.data, partial=partial)
        payload.is_valid(raise_exception=True)
        services.profile_update(
            profile_id=profile.pk, actor=request.user, data=payload.validated_data
        )
        return Response(ProfileOutput(selectors.profile_get_own(user=request.user)).data)


class MyApplicationApi(APIView):
    @extend_schema(
        operation_id="me_application_retrieve",
        responses={200: ApplicationOutput, **error_responses(401, 404)},
        summary="Where the caller's application stands, and what it still needs.",
    )
    def get(self, request: Request) -> Response:
        profile = selectors.profile_get_own(user=request.user)
        return Response(ApplicationOutput(application_data(profile)).data)


class MyApplicationSubmitApi(APIView):
    @extend_schema(
        operation_id="me_application_submit",
        request=None,
        responses={200: ApplicationOutput, **error_responses(400, 401, 403, 404)},
        summary="Submit the application (needs a verified e-mail and every required field).",
    )
    def post(self, request: Request) -> Response:
        profile = selectors.profile_get_own(user=request.user)
        services.application_submit(profile_id=profile.pk, actor=request.user)
        profile = selectors.profile_get_own(user=request.user)
        return Response(ApplicationOutput(application_data(profile)).data)


class ProfileListFilterInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=ContributorProfile.Status.choices, required=False)
    country = serializers.CharField(min_length=2, max_length=2, required=False)
    search = serializers.CharField(max_length=200, required=False)


class ProfileListApi(GenericAPIView):
    serializer_class = ProfileOutput

    @extend_schema(
        operation_id="profiles_list",
        parameters=[ProfileListFilterInput],
        responses={200: ProfileOutput(many=True), **error_responses(400, 401)},
        summary="Contributor profiles: staff see all, anyone else only their own.",
    )
    def get(self, request: Request) -> Response:
        filters = ProfileListFilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        profiles = selectors.profile_list_for_viewer(viewer=request.user, **filters.validated_data)
        page = self.paginate_queryset(profiles)
        return self.get_paginated_response(ProfileOutput(page, many=True).data)


class ProfileDetailApi(APIView):
    @extend_schema(
        operation_id="profiles_retrieve",
        responses={200: ProfileOutput, **error_responses(401, 404)},
        summary="One profile: your own, or any for staff; someone else's is 404.",
    )
    def get(self, request: Request, profile_id: int) -> Response:
        profile = selectors.profile_get_for_viewer(profile_id=profile_id, viewer=request.user)
        return Response(ProfileOutput(profile).data)


class ProfileHistoryApi(GenericAPIView):
    serializer_class = StatusChangeOutput

    @extend_schema(
        operation_id="profiles_history_list",
        responses={200: StatusChangeOutput(many=True), **error_responses(401, 404)},
        summary="The profile's status history, oldest first.",
    )
    def get(self, request: Request, profile_id: int) -> Response:
        profile = selectors.profile_get_for_viewer(profile_id=profile_id, viewer=request.user)
        page = self.paginate_queryset(selectors.status_history_for_profile(profile=profile))
        return self.get_paginated_response(StatusChangeOutput(page, many=True).data)


class ProfileStatusChangeApi(APIView):
    permission_classes = [IsAuthenticated, has_permission("contributors.change_contributor_status")]

    @extend_schema(
        operation_id="profiles_status_change",
        request=StatusChangeInput,
        responses={200: ProfileOutput, **error_responses(400, 401, 403, 404, 409)},
        summary="Staff: suspend or reinstate a contributor, with a reason.",
    )
    def post(self, request: Request, profile_id: int) -> Response:
        payload = StatusChangeInput(data=request.data)
        payload.is_valid(raise_exception=True)
        action = {
            "suspend": services.contributor_suspend,
            "reinstate": services.contributor_reinstate,
        }[payload.validated_data["action"]]
        action(profile_id=profile_id, actor=request.user, reason=payload.validated_data["reason"])
        profile = selectors.profile_get_for_viewer(profile_id=profile_id, viewer=request.user)
        return Response(ProfileOutput(profile).data)
