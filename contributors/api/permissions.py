from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


def has_permission(codename: str) -> type[BasePermission]:
    """A permission class that needs one Django permission, e.g. 'contributors.view_user'."""

    class HasDjangoPermission(BasePermission):
        message = "Your role does not allow this."

        def has_permission(self, request: Request, view: Any) -> bool:
            return bool(request.user and request.user.has_perm(codename))

    HasDjangoPermission.__name__ = f"Has_{codename.replace('.', '_')}"
    return HasDjangoPermission
