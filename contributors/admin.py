"""Admin for accounts and contributor profiles; status changes go through the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from common.errors import DomainError
from contributors import services
from contributors.errors import TooManyAttempts
from contributors.models import (
    ContributorProfile,
    ContributorStatusChange,
    Credential,
    Degree,
    LanguageSkill,
    StandingChange,
    User,
)


class AdminLoginForm(AdminAuthenticationForm):
    """The admin's log-in, checked by the service the site's log-in uses, with its limits."""

    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email and password:
            try:
                self.user_cache = services.user_authenticate(
                    request=self.request, email=email, password=password
                )
            except TooManyAttempts as error:
                raise forms.ValidationError(error.message, code=error.code) from error
            except DomainError as error:
                raise self.get_invalid_login_error() from error
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


# Else /admin/login/ would check passwords with no limit.
admin.site.login_form = AdminLoginForm


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("-date_joined",)
    list_display = (
        "email",
        "full_name",
        "is_active",
        "is_staff",
        "email_verified_at",
        "date_joined",
    )
    list_filter = ("is_active", "is_staff", "groups")
    search_fields = ("email", "full_name")
    readonly_fields = ("date_joined", "last_login")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name", "email_verified_at")}),
        (
            "Access",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),
    )


class StatusChangeInline(admin.TabularInline):
    model = ContributorStatusChange
    fields = ("created_at", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("created_at", "id")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DegreeInline(admin.TabularInline):
    model = Degree
    extra = 0


class CredentialInline(admin.TabularInline):
    model = Credential
    extra = 0


class LanguageInline(admin.TabularInline):
    model = LanguageSkill
    extra = 0


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


def _status_action(service: Any, verb: str) -> Any:
    def action(
        modeladmin: ContributorProfileAdmin,
        request: HttpRequest,
        queryset: QuerySet[ContributorProfile],
    ) -> HttpResponse | None:
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            done = 0
            for profile in queryset.order_by("pk"):
                try:
                    service(
                        profile_id=profile.pk,
                        actor=request.user,
                        reason=form.cleaned_data["reason"],
                    )
                    done += 1
                except DomainError as error:
                    modeladmin.message_user(
                        request, f"{profile.user.email}: {error.message}", messages.ERROR
                    )
            if done:
                modeladmin.message_user(
                    request, f"{verb.capitalize()}: {done} contributor(s).", messages.SUCCESS
                )
            return None
        return TemplateResponse(
            request,
            "admin/contributors/status_action.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": f"{verb.capitalize()} contributors",
                "verb": verb,
                "profiles": queryset,
                "form": form,
                "action": request.POST.get("action"),
                "opts": modeladmin.model._meta,
            },
        )

    action.__name__ = f"{verb}_selected"
    return admin.action(
        description=f"{verb.capitalize()} selected contributors (asks for a reason)",
        permissions=["change_status"],
    )(action)


@admin.register(ContributorProfile)
class ContributorProfileAdmin(admin.ModelAdmin):
    list_display = (
        "user",
        "full_name",
        "status",
        "country",
        "education_level",
        "weekly_availability_hours",
        "application_submitted_at",
        "created_at",
    )
    list_filter = ("status", "country", "education_level")
    search_fields = ("user__email", "user__full_name", "payout_email")
    list_select_related = ("user",)
    readonly_fields = (
        "user",
        "status",
        "status_changed_at",
        "application_submitted_at",
        "created_at",
        "updated_at",
    )
    inlines = (DegreeInline, CredentialInline, LanguageInline, StatusChangeInline)
    actions = (
        _status_action(services.contributor_suspend, "suspend"),
        _status_action(services.contributor_reinstate, "reinstate"),
    )

    @admin.display(ordering="user__full_name")
    def full_name(self, profile: ContributorProfile) -> str:
        return profile.user.full_name

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # profiles are made by sign-up, never by hand

    def has_change_status_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("contributors.change_contributor_status")


@admin.register(ContributorStatusChange)
class ContributorStatusChangeAdmin(admin.ModelAdmin):
    list_display = ("created_at", "profile", "from_status", "to_status", "actor", "reason")
    list_filter = ("to_status", "from_status")
    search_fields = ("profile__user__email", "reason")
    list_select_related = ("profile__user", "actor")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StandingChange)
class StandingChangeAdmin(admin.ModelAdmin):
    """Staff set a contributor's standing here (it selects their pay multiplier)."""

    list_display = ("user", "standing", "effective_at", "set_by", "reason")
    list_filter = ("standing",)
    search_fields = ("user__email", "reason")
    list_select_related = ("user", "set_by")
    fields = ("user", "standing", "effective_at", "reason")
    autocomplete_fields = ("user",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: StandingChange, form: Any, change: bool
    ) -> None:
        saved = services.standing_set(
            user=obj.user,
            standing=obj.standing,
            set_by=request.user,
            reason=obj.reason,
            effective_at=obj.effective_at,
        )
        obj.pk = saved.pk
