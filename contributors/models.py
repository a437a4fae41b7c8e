"""Accounts, contributor profiles (the application) and their status history."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django_countries.fields import CountryField

from contributors.choices import (
    CredentialKind,
    DegreeLevel,
    EducationLevel,
    Proficiency,
    spoken_languages,
)
from contributors.validators import CodeListValidator, validate_spoken_language, validate_time_zone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email: str | None) -> str:
        # The whole address is compared case-insensitively: Ann@X.org and ann@x.org are one person.
        return (email or "").strip().lower()

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        fields.setdefault("email_verified_at", timezone.now())
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person with an account; the e-mail address is the log-in."""

    email = models.EmailField("e-mail address", unique=True)
    full_name = models.CharField(max_length=200)
    is_active = models.BooleanField(
        default=True, help_text="Off while the account is suspended: it cannot log in."
    )
    is_staff = models.BooleanField(default=False, help_text="May log in to the admin site.")
    date_joined = models.DateTimeField(default=timezone.now)
    email_verified_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[UserManager] = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["full_name"]

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(email=Lower("email")), name="user_email_is_lowercase"
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_email_verified(self) -> bool:
        return self.email_verified_at is not None

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class ContributorProfile(models.Model):
    """A contributor's background and availability: their application, and later their profile."""

    class Status(models.TextChoices):
        APPLICANT = "applicant", "Applicant"
        ASSESSING = "assessing", "Assessing"
        ACTIVE = "active", "Active"
        NOT_APPROVED = "not_approved", "Not approved"
        SUSPENDED = "suspended", "Suspended"

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile")
    status = models.CharField(
        max_length=20, choices=Status, default=Status.APPLICANT, db_index=True
    )
    status_changed_at = models.DateTimeField(default=timezone.now)
    application_submitted_at = models.DateTimeField(null=True, blank=True)

    education_level = models.CharField(max_length=20, choices=EducationLevel, blank=True)
    years_experience = models.PositiveSmallIntegerField(
        "years of professional experience",
        null=True,
        blank=True,
        validators=[MaxValueValidator(70)],
    )
    programming_languages = models.JSONField(
        default=list, blank=True, validators=[CodeListValidator("PROGRAMMING_LANGUAGES")]
    )
    expertise_areas = models.JSONField(
        "areas of expertise",
        default=list,
        blank=True,
        validators=[CodeListValidator("EXPERTISE_AREAS")],
    )
    country = CountryField(blank=True)
    time_zone = models.CharField(max_length=64, blank=True, validators=[validate_time_zone])
    weekly_availability_hours = models.PositiveSmallIntegerField(
        "weekly availability (hours)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(80)],
    )
    payout_email = models.EmailField("payout e-mail", blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions: ClassVar = [
            ("change_contributor_status", "Can suspend, reinstate and decide on contributors"),
            ("review_work", "Can review and grade other contributors' work"),
            ("review_as_expert", "Can review as a senior expert: escalations, audits, appeals"),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(
                    status__in=["applicant", "assessing", "active", "not_approved", "suspended"]
                ),
                name="profile_status_is_known",
            ),
            models.CheckConstraint(
                condition=Q(years_experience__isnull=True) | Q(years_experience__lte=70),
                name="profile_years_experience_at_most_70",
            ),
            models.CheckConstraint(
                condition=Q(weekly_availability_hours__isnull=True)
                | Q(weekly_availability_hours__gte=1, weekly_availability_hours__lte=80),
                name="profile_availability_1_to_80_hours",
            ),
            # Nobody is assessed, approved or turned down without a submitted application.
            models.CheckConstraint(
                condition=~Q(status__in=["assessing", "active", "not_approved"])
                | Q(application_submitted_at__isnull=False),
                name="profile_decided_only_after_application",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user.email} ({self.get_status_display()})"


class Degree(models.Model):
    profile = models.ForeignKey(
        ContributorProfile, on_delete=models.CASCADE, related_name="degrees"
    )
    level = models.CharField(max_length=20, choices=DegreeLevel)
    field = models.CharField("field of study", max_length=200)
    institution = models.CharField(max_length=200, blank=True)
    year = models.PositiveSmallIntegerField(
        "year awarded",
        null=True,
        blank=True,
        validators=[MinValueValidator(1940), MaxValueValidator(2100)],
    )

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.get_level_display()} in {self.field}"


class Credential(models.Model):
    """A declared professional licence; professional-tier projects require a matching kind."""

    profile = models.ForeignKey(
        ContributorProfile, on_delete=models.CASCADE, related_name="credentials"
    )
    kind = models.CharField(max_length=20, choices=CredentialKind)
    licence_number = models.CharField(max_length=100)
    jurisdiction = models.CharField(
        max_length=100, help_text="Issuing state or country, e.g. New York, DE."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["profile", "kind", "jurisdiction", "licence_number"],
                name="credential_unique_per_profile",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}, {self.jurisdiction}"


class LanguageSkill(models.Model):
    profile = models.ForeignKey(
        ContributorProfile, on_delete=models.CASCADE, related_name="languages"
    )
    language = models.CharField(max_length=10, validators=[validate_spoken_language])
    proficiency = models.CharField(max_length=20, choices=Proficiency)

    class Meta:
        ordering = ("id",)
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["profile", "language"], name="language_once_per_profile"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.language_name} ({self.get_proficiency_display()})"

    @property
    def language_name(self) -> str:
        return spoken_languages().get(self.language, self.language)


class ContributorStatusChange(models.Model):
    """One step of a profile's status history: who moved it, when, from what, to what and why.

    Append-only: a row is never changed or deleted once written.
    """

    profile = models.ForeignKey(
        ContributorProfile, on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(max_length=20, choices=ContributorProfile.Status, blank=True)
    to_status = models.CharField(max_length=20, choices=ContributorProfile.Status)
    actor = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who made the change; empty when the system made it.",
    )
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise RuntimeError("Status history is append-only; write a new change instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RuntimeError("Status history is append-only.")


class Qualification(models.Model):
    """A qualification held by a person: the right to work in a track (DESIGN.md, tiers).

    Granted by a passed assessment (or by staff), and revoked only by a new decision; a row is
    never deleted, so the history of who held what, when and why stays readable. At most one
    live (unrevoked) row per person and code.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="qualifications")
    code = models.CharField(
        max_length=40, help_text="A track, e.g. general, programming:python, law."
    )
    granted_at = models.DateTimeField(default=timezone.now)
    granted_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when an assessment granted it.",
    )
    source = models.CharField(
        max_length=200, help_text="What earned it, e.g. 'assessment attempt 42'."
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_reason = models.TextField(blank=True)

    class Meta:
        ordering = ("granted_at", "id")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["user", "code"],
                condition=Q(revoked_at__isnull=True),
                name="one_live_qualification_per_code",
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | ~Q(revoked_reason=""),
                name="qualification_revocation_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user.email}: {self.code}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None


class StandingChange(models.Model):
    """A contributor's quality standing from a moment on; the latest one in force is current.

    Staff set it until the quality checks do. The marketplace pays a multiplier per standing,
    and pays the one in force when the work was done.
    """

    class Standing(models.TextChoices):
        STANDARD = "standard", "Standard"
        STRONG = "strong", "Strong"
        EXCEPTIONAL = "exceptional", "Exceptional"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="standing_changes")
    standing = models.CharField(max_length=20, choices=Standing)
    effective_at = models.DateTimeField(default=timezone.now, db_index=True)
    set_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField()

    class Meta:
        ordering = ("effective_at", "id")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(standing__in=["standard", "strong", "exceptional"]),
                name="standing_is_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.standing} from {self.effective_at:%Y-%m-%d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise RuntimeError("Standing history is append-only; record a new change.")
        super().save(*args, **kwargs)


class QualityScore(models.Model):
    """A contributor's quality in one track (a qualification code), recomputed from their gold
    accuracy, review scores and agreement with the aggregate, with the evidence behind it."""

    class Level(models.TextChoices):
        GOOD = "good", "Good"
        WATCH = "watch", "Watch"
        AT_RISK = "at_risk", "At risk"
        NEW = "new", "Too little evidence yet"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="quality_scores")
    track = models.CharField(max_length=40)
    score = models.FloatField(null=True, blank=True, help_text="0–1; empty until evidence exists.")
    level = models.CharField(max_length=10, choices=Level, default=Level.NEW)
    gold_mean = models.FloatField(null=True, blank=True)
    gold_low = models.FloatField(null=True, blank=True)
    gold_high = models.FloatField(null=True, blank=True)
    gold_answered = models.PositiveIntegerField(default=0)
    review_mean = models.FloatField(null=True, blank=True)
    reviews = models.PositiveIntegerField(default=0)
    agreement = models.FloatField(null=True, blank=True)
    agreement_answers = models.PositiveIntegerField(default=0)
    evidence = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("user", "track")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "track"], name="one_quality_score_per_track"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.track}: {self.level}"


class AuthAttemptCounter(models.Model):
    """Attempts counted against one rate-limit key (a rule and an account or client address) in
    its current fixed window; contributors.services.throttle is the only writer."""

    key = models.CharField(max_length=100, unique=True, help_text="Rule and a keyed hash.")
    window_started_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["window_started_at"], name="auth_attempt_window_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.attempts} since {self.window_started_at:%Y-%m-%d %H:%M:%S}"
