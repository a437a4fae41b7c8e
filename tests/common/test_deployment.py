"""Deployment: security headers on pages and API, pages that keep to the content security
policy, no default passwords, and no default secret key in production.

tests/common/test_settings.py has the deployment checklist (`check --deploy`) and the refusal of
a missing or weak secret key; this module adds the repository's own development keys to those
refused, and checks the headers with the production settings themselves.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from tests.common.test_settings import STRONG_KEY, _django_check
from tests.contributors.factories import ContributorFactory, UserFactory
from tests.figures import figure

ROOT = Path(__file__).resolve().parents[2]
APPS = ("common", "contributors", "assessments", "marketplace", "evaluations")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
CSP_REQUIRED = (
    "default-src 'self'",
    "script-src 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
)


def _missing_headers(headers: dict[str, str], *, hsts: bool) -> list[str]:
    """Names of the security headers absent or weaker than required."""
    missing = [name for name, value in SECURITY_HEADERS.items() if headers.get(name) != value]
    policy = headers.get("Content-Security-Policy", "")
    if not all(part in policy for part in CSP_REQUIRED) or "unsafe-" in policy:
        missing.append("Content-Security-Policy")
    if hsts:
        match = re.fullmatch(
            r"max-age=(\d+); includeSubDomains; preload",
            headers.get("Strict-Transport-Security", ""),
        )
        if not match or int(match.group(1)) < 31536000:
            missing.append("Strict-Transport-Security")
    return missing


# Headers.


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),
        ("/accounts/login/", 200),
        ("/api/v1/me/", 401),
        ("/api/v1/no-such-endpoint/", 404),
        ("/api/docs/", 200),
    ],
)
def test_every_answer_carries_the_security_headers(client, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert _missing_headers(dict(response.headers), hsts=False) == []


@pytest.mark.django_db
def test_an_authenticated_api_answer_carries_them_too(client) -> None:
    client.force_login(ContributorFactory())
    response = client.get(reverse("me"))
    assert response.status_code == 200
    assert _missing_headers(dict(response.headers), hsts=False) == []


@pytest.mark.django_db
def test_a_view_with_its_own_stricter_policy_keeps_it(client) -> None:
    client.force_login(ContributorFactory())
    chart = client.get(reverse("marketplace:earnings_chart"))
    assert chart["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"


# Pages keep to the policy: nothing inline that it would block.


class _InlineFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src") and names.get("type") != "application/json":
            self._in_inline_script = True
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.found.append(f"<{tag} {name}=…>")
            if name in {"href", "src", "action"} and (value or "").lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}=javascript:…>")

    def handle_endtag(self, tag: str) -> None:
        self._in_inline_script = False

    def handle_data(self, data: str) -> None:
        if self._in_inline_script and data.strip():
            self.found.append(f"inline script {data.strip()[:40]!r}")


def _inline_parts(html: str) -> list[str]:
    finder = _InlineFinder()
    finder.feed(html)
    return finder.found


def test_the_inline_finder_sees_what_the_policy_would_block() -> None:
    html = (
        '<script src="/static/a.js"></script><script type="application/json">{}</script>'
        "<script>alert(1)</script><style>p{}</style>"
        '<button onclick="go()" style="color:red">x</button><a href="javascript:go()">y</a>'
    )
    assert _inline_parts(html) == [
        "inline script 'alert(1)'",
        "<style>",
        "<button onclick=…>",
        "<button style=…>",
        "<a href=javascript:…>",
    ]


@pytest.mark.parametrize(
    "template", sorted(path for app in APPS for path in (ROOT / app).glob("templates/**/*.html"))
)
def test_no_template_has_inline_script_style_or_handlers(template: Path) -> None:
    source = template.read_text(encoding="utf-8")
    source = re.sub(r"\{#.*?#\}|\{% comment %\}.*?\{% endcomment %\}", "", source, flags=re.S)
    assert _inline_parts(source) == []


@pytest.mark.parametrize(
    "script", sorted(path for app in APPS for path in (ROOT / app).glob("static/**/*.js"))
)
def test_no_script_of_ours_needs_eval(script: Path) -> None:
    source = script.read_text(encoding="utf-8")
    assert re.findall(r"\beval\(|new Function\(|setAttribute\(\s*['\"](style|on\w+)", source) == []


@pytest.mark.django_db
def test_rendered_pages_have_nothing_inline_the_policy_would_block(client) -> None:
    pages = {
        "anonymous": ["/", "/accounts/login/", "/accounts/signup/", "/accounts/password-reset/"],
        "contributor": ["/", "/application/", "/profile/"],
        "staff": ["/admin/", "/admin/contributors/user/", "/admin/contributors/user/add/"],
        "docs": ["/api/docs/"],
    }
    found = {}
    for who, paths in pages.items():
        client.logout()
        if who == "contributor":
            client.force_login(ContributorFactory())
        if who == "staff":
            client.force_login(UserFactory(is_staff=True, is_superuser=True))
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            found[path] = _inline_parts(response.content.decode())
    assert found == {path: [] for paths in pages.values() for path in paths}


@pytest.mark.django_db
def test_the_api_docs_script_is_served_as_a_file(client) -> None:
    html = client.get("/api/docs/").content.decode()
    script_url = re.search(r'<script src="([^"]*script=[^"]*)"', html).group(1)
    script = client.get(script_url.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


# Production: headers under the production settings themselves, and no default key.

PRODUCTION_PROBE = """
import json
import django
from django.test import Client
from django.test.utils import override_settings

django.setup()
# The manifest of collected static files does not exist here; plain storage renders the same.
plain = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
answers = {}
with override_settings(STORAGES=plain):
    client = Client(HTTP_HOST="eval.example.org", HTTP_X_FORWARDED_PROTO="https")
    for path in ("/", "/accounts/login/", "/api/v1/me/"):
        response = client.get(path, secure=True)
        answers[path] = {"status": response.status_code, "headers": dict(response.headers)}
    plain_http = Client(HTTP_HOST="eval.example.org").get("/")
    answers["http"] = {"status": plain_http.status_code, "location": plain_http.get("Location")}
print(json.dumps(answers))
"""


def _production_probe() -> dict[str, dict]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": STRONG_KEY,
            "ALLOWED_HOSTS": "eval.example.org",
            "DATABASE_URL": "sqlite://:memory:",  # the anonymous pages probed read no rows
        }
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", PRODUCTION_PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _repository_secret_key_defaults() -> list[str]:
    """The literal secret keys the settings modules hold (development and test defaults)."""
    keys = []
    for module in sorted((ROOT / "config" / "settings").glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            value = _literal(node)
            if value and value.startswith("django-insecure-"):
                keys.append(value)
    return keys


def test_the_repositorys_own_development_keys_are_refused_in_production() -> None:
    keys = _repository_secret_key_defaults()
    assert len(keys) >= 2  # local.py's default and test.py's key
    for key in keys:
        result = _django_check({"DJANGO_SECRET_KEY": key})
        assert result.returncode != 0
        assert "DJANGO_SECRET_KEY is too weak" in result.stderr


def test_production_answers_carry_hsts_and_every_security_header() -> None:
    answers = _production_probe()
    plain_http = answers.pop("http")
    missing = {
        path: _missing_headers(answer["headers"], hsts=True) for path, answer in answers.items()
    }
    headers_checked = sum(len(SECURITY_HEADERS) + 2 for _ in answers)  # + CSP and HSTS
    deploy = _django_check({"DJANGO_SECRET_KEY": STRONG_KEY}, "--deploy", "--fail-level", "WARNING")
    findings = password_findings(ROOT)
    figure(
        "deployment",
        answers_checked=len(answers),
        headers_checked=headers_checked,
        missing=sum(len(names) for names in missing.values()),
        http_redirects_to_https=plain_http["status"] == 301,
        check_deploy="pass" if deploy.returncode == 0 else "fail",
        weak_keys_refused=len(_repository_secret_key_defaults()),
        default_passwords=len(findings),
    )
    assert {path: answer["status"] for path, answer in answers.items()} == {
        "/": 200,
        "/accounts/login/": 200,
        "/api/v1/me/": 401,
    }
    assert missing == {path: [] for path in answers}
    assert plain_http == {"status": 301, "location": "https://eval.example.org/"}


# No default passwords outside the demo commands and the tests.

SECRET_NAME = re.compile(
    r"(^|_)(pass|password|passwd|passphrase|secret|secret_key|api_key|apikey|private_key|token)$",
    re.IGNORECASE,
)
CREDENTIALS_IN_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:[^/\s@'\"]+@", re.IGNORECASE)
TEXT_SETTING = re.compile(
    r"^\s*(?:export\s+)?([A-Za-z0-9_]*(?:PASSWORD|PASSWD|SECRET|SECRET_KEY|API_KEY|TOKEN))"
    r"\s*[:=]\s*[\"']?([^\s\"'#]*)",
    re.IGNORECASE,
)
SKIPPED_DIRS = {".git", ".venv", ".envs", ".ruff_cache", ".mypy_cache", ".import_linter_cache"}
SKIPPED_DIRS |= {"node_modules", "__pycache__", "staticfiles", "media", "artifacts"}
SKIPPED_DIRS |= {"tests", "docs", "content"}  # test fixtures, documentation, assessment content
TEXT_FILES = re.compile(r"(^\.env.*|.*\.(toml|cfg|ini|ya?ml|sh|conf)|Procfile|run)$")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    what: str


def _is_placeholder(value: str) -> bool:
    # Empty, Django's unusable-password marker, or a development key production refuses
    # (test_the_repositorys_own_development_keys_are_refused_in_production).
    return not value or value.startswith(("!", "$", "django-insecure-"))


def _name_of(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return ""


def _literal(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _python_findings(source: str) -> list[tuple[int, str]]:
    found = []

    def check(name: str, value_node: ast.AST | None, line: int) -> None:
        value = _literal(value_node)
        if value is not None and SECRET_NAME.search(name) and not _is_placeholder(value):
            found.append((line, f"{name} = {value[:3]}…"))

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                check(_name_of(target), node.value, node.lineno)
        elif isinstance(node, ast.AnnAssign):
            check(_name_of(node.target), node.value, node.lineno)
        elif isinstance(node, ast.keyword) and node.arg:
            check(node.arg, node.value, node.value.lineno)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if key is not None:
                    check(_name_of(key), value, value.lineno)
        elif isinstance(node, ast.Compare) and len(node.comparators) == 1:
            check(_name_of(node.left), node.comparators[0], node.lineno)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args.posonlyargs + node.args.args
            for argument, default in zip(
                arguments[len(arguments) - len(node.args.defaults) :],
                node.args.defaults,
                strict=True,
            ):
                check(argument.arg, default, node.lineno)
            for argument, default in zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True):
                check(argument.arg, default, node.lineno)
        elif isinstance(node, ast.Call) and node.args:
            # env.str("SOME_PASSWORD", default="…"): a default a deployment would inherit.
            for keyword in node.keywords:
                if keyword.arg == "default":
                    check(_name_of(node.args[0]), keyword.value, node.lineno)
        elif CREDENTIALS_IN_URL.search(_literal(node) or ""):
            found.append((node.lineno, "credentials in a URL"))
    return found


def _text_findings(source: str) -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate(source.splitlines(), start=1):
        if line.lstrip().startswith(("#", ";", "//")):
            continue
        match = TEXT_SETTING.match(line)
        if match and not _is_placeholder(match.group(2)):
            found.append((number, f"{match.group(1)}={match.group(2)[:3]}…"))
        if CREDENTIALS_IN_URL.search(line):
            found.append((number, "credentials in a URL"))
    return found


def password_findings(root: Path) -> list[Finding]:
    """Hard-coded passwords and secrets in Python and settings files under `root`, outside the
    demo commands (which refuse to run without DEBUG) and the tests."""
    findings = []
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(name for name in subdirectories if name not in SKIPPED_DIRS)
        for name in sorted(files):
            path = Path(directory) / name
            relative = path.relative_to(root).as_posix()
            if re.search(r"management/commands/demo_\w+\.py$", relative):
                continue
            if name.endswith(".py"):
                found = _python_findings(path.read_text(encoding="utf-8"))
            elif TEXT_FILES.match(name):
                found = _text_findings(path.read_text(encoding="utf-8", errors="replace"))
            else:
                continue
            findings.extend(Finding(relative, line, what) for line, what in sorted(found))
    return findings


def test_the_repository_has_no_default_passwords() -> None:
    assert password_findings(ROOT) == []


def test_the_password_scan_finds_planted_ones(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "prod.py").write_text(
        "import os\n"
        'DATABASE_PASSWORD = "hunter2-prod"\n'
        'SMTP = {"password": "mail-secret-9"}\n'
        'ADMIN_URL = "postgres://admin:s3cret@db.internal/app"\n'
        'API_KEY = os.environ.get("API_KEY", default="live-key-123")\n'
        "def connect(user, password='letmein'):\n"
        "    return user, password\n"
        'create_user(email="root@example.org", password="changeme")\n'
        "if password == 'backdoor':\n"
        "    pass\n"
        'EMPTY_PASSWORD = ""\n'
        'UNUSABLE = create_user(password="!unusable")\n'
        'READ_PASSWORD = os.environ["READ_PASSWORD"]\n'
    )
    (tmp_path / ".env.production").write_text("EMAIL_HOST_PASSWORD=smtp-pass\nDJANGO_SECRET_KEY=\n")
    (tmp_path / "contributors" / "management" / "commands").mkdir(parents=True)
    (tmp_path / "contributors" / "management" / "commands" / "demo_seed.py").write_text(
        'DEMO_PASSWORD = "demo-only"\n'
    )
    found = [(finding.path, finding.line) for finding in password_findings(tmp_path)]
    assert found == [
        (".env.production", 1),
        ("config/prod.py", 2),
        ("config/prod.py", 3),
        ("config/prod.py", 4),
        ("config/prod.py", 5),
        ("config/prod.py", 6),
        ("config/prod.py", 8),
        ("config/prod.py", 9),
    ]


@pytest.mark.parametrize(
    "command",
    sorted(
        path.stem for app in APPS for path in (ROOT / app).glob("management/commands/demo_*.py")
    ),
)
def test_demo_commands_with_their_known_passwords_refuse_to_run_without_debug(
    command: str,
) -> None:
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command(command)
