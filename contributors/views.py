"""Pages of accounts and the application: parse a form, call a service or selector, render."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.authtoken.models import Token

from common.errors import DomainError, InvalidInput, NotFound
from contributors import selectors, services
from contributors.errors import EmailAlreadyVerified, TooManyAttempts, VerificationLinkInvalid
from contributors.forms import ApplicationForms, LoginForm, SignUpForm
from contributors.models import ContributorProfile
from contributors.next_step import journey_for, next_step_for

BACKEND = "django.contrib.auth.backends.ModelBackend"


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "contributors/landing.html")
    step = next_step_for(request.user)
    return render(
        request,
        "contributors/home.html",
        {
            "step": step,
            "journey": journey_for(step) if hasattr(request.user, "profile") else [],
            "profile": getattr(request.user, "profile", None),
        },
    )


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("contributors:home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_sign_up(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                full_name=form.cleaned_data["full_name"],
            )
        except InvalidInput as error:
            for field, field_messages in error.fields.items():
                for message in field_messages:
                    form.add_error(field if field in form.fields else None, message)
        else:
            login(request, user, backend=BACKEND)
            messages.success(
                request,
                f"Welcome! We sent a verification link to {user.email}. "
                "Follow it to verify your address, then complete your application.",
            )
            return redirect("contributors:home")
    return render(request, "contributors/signup.html", {"form": form})


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    if request.user.is_authenticated:
        return redirect(next_url or "contributors:home")
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_authenticate(
                request=request,
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
            )
        except TooManyAttempts as error:
            form.add_error(None, error.message)
            return _too_many_attempts(
                render(request, "contributors/login.html", {"form": form, "next": next_url}),
                error,
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            login(request, user, backend=BACKEND)  # rotates the session key
            return redirect(next_url or "contributors:home")
    return render(request, "contributors/login.html", {"form": form, "next": next_url})


def _too_many_attempts(response: HttpResponse, error: TooManyAttempts) -> HttpResponse:
    """Answer a page refused by a rate limit with 429 and how long to wait."""
    response.status_code = 429
    if error.retry_after:
        response["Retry-After"] = str(error.retry_after)
    return response


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You are logged out.")
    return redirect("contributors:home")


def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user = services.email_verify(token=token)
    except VerificationLinkInvalid as error:
        return render(
            request, "contributors/verify_email_failed.html", {"error": error.message}, status=400
        )
    messages.success(request, f"Thank you: {user.email} is verified.")
    if request.user.is_authenticated and request.user.pk == user.pk:
        return redirect("contributors:home")
    return redirect(reverse("contributors:login") + "?next=" + reverse("contributors:home"))


@login_required
@require_http_methods(["GET", "POST"])
def verify_email_resend(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            services.email_verification_resend(user=request.user)
        except EmailAlreadyVerified as error:
            messages.info(request, error.message)
        else:
            messages.success(request, f"We sent a new verification link to {request.user.email}.")
        return redirect("contributors:home")
    return render(request, "contributors/verify_email_resend.html")


@login_required
@require_http_methods(["GET", "POST"])
def application(request: HttpRequest) -> HttpResponse:
    try:
        profile = selectors.profile_get_own(user=request.user)
    except NotFound:
        messages.info(request, "Staff accounts have no application.")
        return redirect("contributors:home")
    forms = ApplicationForms(
        profile=profile, data=request.POST if request.method == "POST" else None
    )
    if request.method == "POST" and forms.is_valid():
        submit = request.POST.get("action") == "submit"
        try:
            services.application_save(
                profile_id=profile.pk, actor=request.user, data=forms.cleaned_data(), submit=submit
            )
        except DomainError as error:
            forms.apply_errors(error.fields)
            if not error.fields:
                forms.general_errors.append(error.message)
        else:
            if submit:
                messages.success(
                    request, "Your application is submitted. Next: the Starter Assessment."
                )
                return redirect("contributors:home")
            messages.success(request, "Saved.")
            return redirect("contributors:application")
    submitted = profile.application_submitted_at is not None
    return render(
        request,
        "contributors/application.html",
        {
            "forms": forms,
            "profile": profile,
            "submitted": submitted,
            # What the stored application still lacks; after a refused POST the errors beside
            # the fields say it better.
            "missing": []
            if submitted or request.method == "POST"
            else forms.labels(services.application_missing_fields(profile=profile)),
            "has_errors": request.method == "POST",
            "can_edit": profile.status != ContributorProfile.Status.SUSPENDED,
        },
    )


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    try:
        own = selectors.profile_get_own(user=request.user)
    except NotFound:
        messages.info(request, "Staff accounts have no contributor profile.")
        return redirect("contributors:home")
    return render(
        request,
        "contributors/profile.html",
        {"profile": own, "history": selectors.status_history_for_profile(profile=own)},
    )


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "contributors/password_reset_form.html"
    email_template_name = "contributors/email/password_reset.txt"
    subject_template_name = "contributors/email/password_reset_subject.txt"
    success_url = reverse_lazy("contributors:password_reset_done")

    def get_form_kwargs(self) -> dict[str, object]:
        self.extra_email_context = {"site_url": settings.SITE_URL.rstrip("/")}
        return super().get_form_kwargs()

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        try:
            services.password_reset_attempt_count(
                email=form.cleaned_data["email"],
                client_address=services.client_address_get(request=self.request),
            )
        except TooManyAttempts as error:
            form.add_error("email", error.message)
            return _too_many_attempts(self.form_invalid(form), error)
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "contributors/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "contributors/password_reset_confirm.html"
    success_url = reverse_lazy("contributors:password_reset_complete")

    def form_valid(self, form: SetPasswordForm) -> HttpResponse:
        response = super().form_valid(form)
        # The new password ends every session (their stored password hash no longer matches);
        # API tokens would outlive it, so they go too.
        Token.objects.filter(user=form.user).delete()
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "contributors/password_reset_complete.html"
