"""Machinery of the access-control matrix: every route from the URL configuration and the
OpenAPI schema, callers for each role, outcome classes, leak search and database snapshots.

Routes come from what the app serves at test time, never from a checked-in file: the API's
operations from drf-spectacular's generator, the pages from Django's URL resolver. A route added
tomorrow is therefore called tomorrow, and the matrix fails until its table declares it.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, models, transaction
from django.http import HttpResponseBase
from django.shortcuts import resolve_url
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

API_PREFIX = "/api/v1/"
# Pages that are not the app's own: Django's admin has its own permission system (and its own
# tests), and the schema and its Swagger page describe the API rather than serve data.
NOT_APP_PAGES = {"api-schema", "api-docs"}
NOT_APP_NAMESPACES = {"admin"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

# Outcome classes the table speaks in. `ok` and `redirect` may change the database; every
# other class must leave it exactly as it was.
OK, REDIRECT, REFUSED = "ok", "redirect", "refused"
DENIED, HIDDEN, INVALID, CONFLICT, NOT_ALLOWED = (
    "denied",
    "hidden",
    "invalid",
    "conflict",
    "not_allowed",
)
WRITES_ALLOWED = {OK, REDIRECT}


@dataclass(frozen=True)
class Route:
    """One method of one route: an API operation or a page."""

    name: str
    method: str
    kind: str  # "api" or "page"
    params: tuple[str, ...]
    body: str  # "json", "multipart", "form" or "" (no body)

    @property
    def key(self) -> tuple[str, str]:
        return (self.name, self.method)


def _filled(template: str) -> str:
    """A concrete path for a schema template, good enough to resolve its URL name."""
    out, inside = [], False
    for char in template:
        if char == "{":
            inside = True
            out.append("1")
        elif char == "}":
            inside = False
        elif not inside:
            out.append(char)
    return "".join(out)


def api_routes() -> list[Route]:
    """Every operation of the OpenAPI schema, named by the URL it resolves to."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    routes = []
    for template, operations in schema["paths"].items():
        name = resolve(_filled(template)).url_name
        params = tuple(
            part[1:-1]
            for part in template.split("/")
            if part.startswith("{") and part.endswith("}")
        )
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            body = "multipart" if "multipart/form-data" in content else ("json" if content else "")
            routes.append(Route(name, method.upper(), "api", params, body))
    return sorted(routes, key=lambda route: route.key)


def _patterns(
    resolver: URLResolver, prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str, tuple[str, ...], Any]]:
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _patterns(entry, route, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            params = tuple(resolve_params(route))
            yield route, name, params, entry.callback


def resolve_params(route: str) -> list[str]:
    """The parameter names of a route string: `a/<int:b>/<c>/` → ["b", "c"]."""
    names = []
    for part in route.split("<")[1:]:
        inner = part.split(">", 1)[0]
        names.append(inner.split(":")[-1])
    return names


def url_patterns() -> list[tuple[str, str, tuple[str, ...], Any]]:
    """(route, name, params, view) of every named URL pattern."""
    return list(_patterns(get_resolver()))


def page_methods(view: Any) -> set[str]:
    """The methods a page view answers: a class-based view's handlers, or the list given to
    `require_http_methods` (`require_POST`, …) found in the closures of its decorators. A
    view that declares none answers every method alike: it is tried with GET and POST."""
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        return {
            method.upper()
            for method in view_class.http_method_names
            if method in ("get", "post") and hasattr(view_class, method)
        }
    function = view
    while function is not None:
        declared = inspect.getclosurevars(function).nonlocals.get("request_method_list")
        if declared is not None:
            return {method for method in declared if method in ("GET", "POST")}
        function = getattr(function, "__wrapped__", None)
    return {"GET", "POST"}


def page_routes() -> list[Route]:
    """Every named page of the app's URL configurations, with each method it answers."""
    routes = []
    for route, name, params, view in url_patterns():
        if route.startswith(API_PREFIX.lstrip("/")) or name in NOT_APP_PAGES:
            continue
        if name.split(":", 1)[0] in NOT_APP_NAMESPACES:
            continue
        for method in page_methods(view):
            routes.append(Route(name, method, "page", params, "form" if method == "POST" else ""))
    return sorted(routes, key=lambda route: route.key)


def api_url_names() -> set[str]:
    """Names of every URL under the API prefix, from the resolver (to check the schema)."""
    return {
        name
        for route, name, _params, _view in url_patterns()
        if route.startswith(API_PREFIX.lstrip("/"))
    }


def path_for(route: Route, params: dict[str, Any]) -> str:
    return reverse(route.name, kwargs={name: params[name] for name in route.params})


def api_client(token: str | None) -> APIClient:
    client = APIClient()
    client.raise_request_exception = False
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def page_client(user: Any) -> Client:
    client = Client()
    client.raise_request_exception = False
    if user is not None:
        client.force_login(user)
    return client


def call(client: Client, route: Route, path: str) -> tuple[HttpResponseBase, bytes]:
    """Call the route with an empty body of its kind; return the answer and its whole body."""
    method = route.method.lower()
    if route.body == "json":
        response = getattr(client, method)(path, data={}, format="json")
    elif route.body == "multipart":
        response = getattr(client, method)(path, data={}, format="multipart")
    elif route.body == "form":
        response = client.post(path, data={})
    else:
        response = getattr(client, method)(path)
    # The test client closes the answer itself (calling close() here would signal the end of
    # the request and close the database connection inside the test's transaction).
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def outcome(response: HttpResponseBase) -> str:
    """The class of an answer; a page's POST is told `ok` from `refused` by `run`."""
    status = response.status_code
    if 200 <= status < 300:
        return OK
    if 300 <= status < 400:
        location = response.get("Location", "")
        return DENIED if location.startswith(resolve_url(settings.LOGIN_URL)) else REDIRECT
    return {
        400: INVALID,
        401: DENIED,
        403: DENIED,
        404: HIDDEN,
        405: NOT_ALLOWED,
        409: CONFLICT,
    }.get(status, f"status {status}")


def json_body(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def walk(value: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) of every key of every mapping in a JSON document."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield f"{path}.{key}", key, inner
            yield from walk(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from walk(inner, f"{path}[{index}]")


# Tables whose rows change as a side effect of asking at all: the log-in rate limiter counts
# attempts, and sessions are written by logging in and out.
NOT_STATE = {"contributors.authattemptcounter", "sessions.session"}
NOT_STATE_TABLES = ('"CONTRIBUTORS_AUTHATTEMPTCOUNTER"', '"DJANGO_SESSION"')


def _state_models() -> list[type[models.Model]]:
    chosen = []
    for model in apps.get_models(include_auto_created=True):
        label = model._meta.label_lower
        if label in NOT_STATE:
            continue
        app = model._meta.app_label
        if app in {"contributors", "assessments", "marketplace", "evaluations", "authtoken"}:
            chosen.append(model)
    return chosen


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the app's tables (users, tokens and role memberships included)."""
    return {
        model._meta.label_lower: list(model._base_manager.order_by("pk").values_list())
        for model in _state_models()
    }


def wrote(queries: list[dict[str, str]]) -> bool:
    """Whether any INSERT, UPDATE or DELETE reached a table that is state."""
    for query in queries:
        sql = query["sql"].lstrip().upper()
        if sql.startswith(("INSERT", "UPDATE", "DELETE")) and not any(
            table in sql for table in NOT_STATE_TABLES
        ):
            return True
    return False


def changed_tables(before: dict[str, list[Any]], after: dict[str, list[Any]]) -> list[str]:
    return sorted(label for label in before if before[label] != after.get(label))


@dataclass
class Result:
    route: Route
    role: str
    outcome: str
    status: int
    body: bytes
    content_type: str
    writes: list[str]


def run(routes: list[Route], roles: dict[str, tuple[Any, str | None]], params: Any) -> list[Result]:
    """Call every route as every role, each call from the same database state (a savepoint
    rolled back after it). `roles` maps a role to (user, API token); `params(route)` gives the
    path parameters. A call that sent any write is compared with the state before, table by
    table, and the tables it changed are kept with its result."""
    clients = {
        role: (api_client(token), page_client(user)) for role, (user, token) in roles.items()
    }
    baseline = snapshot()
    results = []
    for route in routes:
        path = path_for(route, params(route))
        for role, (api, page) in clients.items():
            client = api if route.kind == "api" else page
            cookies = {name: morsel.value for name, morsel in client.cookies.items()}
            savepoint = transaction.savepoint()
            try:
                with CaptureQueriesContext(connection) as queries:
                    response, body = call(client, route, path)
                found = outcome(response)
                writes: list[str] = []
                # A full comparison only when the call sent a write to the database at all.
                if wrote(queries.captured_queries) and (found != OK or route.kind == "page"):
                    writes = changed_tables(baseline, snapshot())
                # A page answers a refused action like a done one (a message, a redirect, or
                # an error fragment for htmx); what tells them apart is whether it wrote.
                if route.kind == "page" and route.method in UNSAFE and found in (OK, REDIRECT):
                    found = OK if writes else REFUSED
                results.append(
                    Result(
                        route,
                        role,
                        found,
                        response.status_code,
                        body,
                        response.get("Content-Type", ""),
                        writes,
                    )
                )
            finally:
                transaction.savepoint_rollback(savepoint)
                # A log-out or log-in swaps the session cookie; the next call starts as before.
                client.cookies = SimpleCookie(cookies)
    return results
