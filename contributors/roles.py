"""Roles are groups with permissions. Each app declares what its roles may do.

An AppConfig may carry `role_permissions = {role: ["app_label.codename", ...]}`; after every
`migrate`, `roles_sync` makes the groups hold exactly the union of those declarations, so the
roles exist in every database (tests included) and a permission dropped from the code is
dropped from the group too.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import transaction


class Role:
    CONTRIBUTOR = "contributor"
    REVIEWER = "reviewer"
    EXPERT_REVIEWER = "expert_reviewer"
    STAFF = "staff"
    FINANCE_ADMIN = "finance_admin"

    ALL = (CONTRIBUTOR, REVIEWER, EXPERT_REVIEWER, STAFF, FINANCE_ADMIN)
    LABELS = {
        CONTRIBUTOR: "Contributor",
        REVIEWER: "Reviewer",
        EXPERT_REVIEWER: "Expert reviewer",
        STAFF: "Staff (project manager)",
        FINANCE_ADMIN: "Finance admin",
    }


def role_permissions_declared() -> dict[str, set[str]]:
    declared: dict[str, set[str]] = defaultdict(set)
    for config in apps.get_app_configs():
        for role, permissions in getattr(config, "role_permissions", {}).items():
            if role not in Role.ALL:
                raise ValueError(f"{config.label} declares permissions for unknown role {role!r}")
            declared[role].update(permissions)
    return declared


def roles_sync(**_: Any) -> None:
    """Create the role groups and give each exactly its declared permissions."""
    # Permissions are normally created app by app after migrate; create them all now, so that a
    # role may name a permission of an app that comes later in INSTALLED_APPS.
    for config in apps.get_app_configs():
        create_permissions(config, verbosity=0)
    declared = role_permissions_declared()
    with transaction.atomic():
        for role in Role.ALL:
            group, _created = Group.objects.get_or_create(name=role)
            wanted = declared.get(role, set())
            found = []
            for dotted in sorted(wanted):
                app_label, codename = dotted.split(".", 1)
                try:
                    found.append(
                        Permission.objects.get(content_type__app_label=app_label, codename=codename)
                    )
                except Permission.DoesNotExist as error:
                    raise ValueError(
                        f"Role {role!r} names a missing permission {dotted!r}"
                    ) from error
            group.permissions.set(found)
