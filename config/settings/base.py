"""Settings shared by every environment; production differs only through environment variables."""

from config.env import BASE_DIR, env
from config.settings.integrations.celery import *  # noqa: F403

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Each environment module sets SECRET_KEY: local and test have a development default,
# production refuses to start without a strong one.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_countries",
    "django_htmx",
    "common",
    "contributors",
    "assessments",
    "marketplace",
    "evaluations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "common.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "common.middleware.NulInputMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "common.middleware.DomainErrorMiddleware",
    "common.middleware.OutageMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "common.navigation.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False  # services open their own transactions
# Each web or worker process keeps its connection for a minute instead of opening one per
# request, which costs PostgreSQL a new backend process every time. The health check before
# each request's first query replaces a kept connection that died meanwhile (PostgreSQL
# restarted, the backend was terminated), and Django drops one that failed during a request, so
# after an outage the next request gets a fresh connection (tests/security/test_outages.py).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A server that does not answer fails the request within seconds (503, common.outages)
    # instead of holding a web worker for the operating system's TCP timeout.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "contributors.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "contributors:login"
LOGIN_REDIRECT_URL = "contributors:home"
LOGOUT_REDIRECT_URL = "contributors:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# How long an e-mail verification link stays valid.
EMAIL_VERIFICATION_MAX_AGE_SECONDS = env.int(
    "EMAIL_VERIFICATION_MAX_AGE_SECONDS", default=3 * 86400
)
PASSWORD_RESET_TIMEOUT = 3 * 3600
# Log-in and password-reset limits (contributors.services.throttle): at most `limit` attempts per
# fixed window of `window_seconds`, per account (the normalised e-mail) and per client address.
# Log-ins count before the password is checked, and a successful one is given back.
AUTH_RATE_LIMITS = {
    "login_account": {
        "limit": env.int("AUTH_LOGIN_LIMIT_PER_ACCOUNT", default=5),
        "window_seconds": env.int("AUTH_LOGIN_WINDOW_SECONDS", default=15 * 60),
    },
    "login_ip": {
        "limit": env.int("AUTH_LOGIN_LIMIT_PER_IP", default=20),
        "window_seconds": env.int("AUTH_LOGIN_WINDOW_SECONDS", default=15 * 60),
    },
    "reset_account": {
        "limit": env.int("AUTH_RESET_LIMIT_PER_ACCOUNT", default=3),
        "window_seconds": env.int("AUTH_RESET_WINDOW_SECONDS", default=3600),
    },
    "reset_ip": {
        "limit": env.int("AUTH_RESET_LIMIT_PER_IP", default=20),
        "window_seconds": env.int("AUTH_RESET_WINDOW_SECONDS", default=3600),
    },
}
# How many proxies in front of the service append to X-Forwarded-For; the client address is the
# entry that many places from the right. 0: REMOTE_ADDR (no proxy; the header is then ignored,
# since a client could write anything in it).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# A work session with no heartbeat for this long is closed at its last heartbeat.
MARKETPLACE_SESSION_IDLE_MINUTES = env.int("MARKETPLACE_SESSION_IDLE_MINUTES", default=5)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Uploaded files (task import files): private to staff, never served as static files.
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="EvalMarket <no-reply@evalmarket.local>")
# Absolute links in e-mails are built from this, not from the request's Host header.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# The payment provider payouts are sent through: a dotted path to a class with `name` and
# `send(dispatch, payouts)` (see marketplace.services.payouts.paying); empty: the CSV file.
PAYOUT_PROVIDER = env.str("PAYOUT_PROVIDER", default="")
# Contributors per transaction when a payout batch is built (each chunk commits its progress).
PAYOUT_BUILD_CHUNK = env.int("PAYOUT_BUILD_CHUNK", default=2000)

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # HTMX reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Sent on every answer by common.middleware.ContentSecurityPolicyMiddleware (the shape of Django
# 6's SECURE_CSP). No page has inline script, style or event handlers: scripts and styles come
# from our own static files; images may be data: URIs (Swagger UI's icons).
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous API call is then answered 401 with a WWW-Authenticate header.
        "common.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "common.api.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "common.api.exception_handler.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "common.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # `?format=` is an export option of ours (jsonl, csv), not a renderer switch.
    "URL_FORMAT_OVERRIDE": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "EvalMarket API",
    "DESCRIPTION": (
        "Expert human evaluation of AI output: accounts, contributor applications, assessments, "
        "projects, evaluation work, quality review and payouts. Every 4xx answer has the shape "
        '{"detail": str, "code": str, "fields": {field: [messages]}}.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "common.api.schema.document_refusals_before_the_view",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ContributorStatusEnum": "contributors.models.ContributorProfile.Status",
        "AdjustmentKindEnum": [("bonus", "Bonus"), ("adjustment", "Adjustment")],
        "CredentialKindEnum": "contributors.choices.CredentialKind",
        "CheckActionEnum": "evaluations.models.QualitySettings.Action",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"events": {"()": "common.logging.EventFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "events"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}
