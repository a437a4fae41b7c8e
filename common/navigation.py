"""Main navigation, assembled from the apps: each AppConfig may declare `navigation` links.

`common` knows no app; an app adds its pages to the header by listing NavLinks on its config.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.http import HttpRequest
from django.urls import reverse


def _always(user: Any) -> bool:
    return True


@dataclass(frozen=True)
class NavLink:
    label: str
    url_name: str
    order: int = 100
    visible: Callable[[Any], bool] = _always


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Template context: the header links this user may follow, in order."""
    user = request.user
    links: list[NavLink] = []
    if user.is_authenticated:
        for config in apps.get_app_configs():
            links.extend(getattr(config, "navigation", ()))
    items = [
        {"label": link.label, "url": reverse(link.url_name)}
        for link in sorted(links, key=lambda link: link.order)
        if link.visible(user)
    ]
    current = request.path
    for item in items:
        item["active"] = current == item["url"] or (
            item["url"] != "/" and current.startswith(item["url"])
        )
    return {"nav_items": items}
