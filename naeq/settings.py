"""Django settings, read from the environment.

Environment variables (all optional):

``NAEQ_DATA_DIR``
    Where the embedded database, uploads and reports live. Default: ``./var`` under the working directory.
``DATABASE_URL``
    ``sqlite:///path.sqlite3`` or ``postgres://user@host:5432/name``. Default: an SQLite file in the data dir.
``REDIS_URL``
    Cache, rate-limit store and Celery broker. Without it jobs run in-process and the cache is local memory.
``NAEQ_SECRET_KEY``
    Django secret key. When unset, a random key is generated once and kept (mode 0600) in the data dir.
``NAEQ_DEBUG``
    ``1`` for development (the demo sets it). Default off.
``NAEQ_ALLOWED_HOSTS``
    Comma-separated host names. Default: ``127.0.0.1,localhost``.
``NAEQ_EMAIL_URL``
    Where reminders and incident notices are mailed: ``smtp://user:password@host:port`` (``smtps://`` for TLS).
    Default: the console (mail is printed to the server's output), as in the demo.
``NAEQ_EMAIL_FROM``
    The sender address. Default: ``naeq@localhost``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("NAEQ_DATA_DIR", Path.cwd() / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = os.environ.get("NAEQ_DEBUG", "0") == "1"


def _email_settings(url: str) -> dict[str, object]:
    """Django's e-mail settings from ``NAEQ_EMAIL_URL`` (empty: the console backend)."""
    from urllib.parse import unquote, urlsplit

    if not url:
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("NAEQ_EMAIL_URL must look like smtp://user:password@host:port or smtps://…")
    return {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": parts.hostname,
            "EMAIL_PORT": parts.port or (465 if parts.scheme == "smtps" else 25),
            "EMAIL_HOST_USER": unquote(parts.username or ""), "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
            "EMAIL_USE_SSL": parts.scheme == "smtps", "EMAIL_TIMEOUT": 20}


globals().update(_email_settings(os.environ.get("NAEQ_EMAIL_URL", "")))
DEFAULT_FROM_EMAIL = os.environ.get("NAEQ_EMAIL_FROM", "naeq@localhost")


def _secret_key() -> str:
    key = os.environ.get("NAEQ_SECRET_KEY")
    if key:
        return key
    key_file = DATA_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(50)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [h for h in os.environ.get("NAEQ_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "naeq.core",
    "naeq.accounts",
    "naeq.registry",
    "naeq.cycles",
    "naeq.sampling",
    "naeq.delivery",
    "naeq.staffing",
    "naeq.timeline",
    "naeq.readiness",
    "naeq.custody",
    "naeq.incidents",
    "naeq.performance",
    "naeq.papercapture",
    "naeq.marking",
    "naeq.pe",
    "naeq.scaling",
    "naeq.quality",
    "naeq.analysis",
    "naeq.reports",
    "naeq.rectification",
    "naeq.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "naeq.core.middleware.ChineseByDefaultMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "naeq.core.middleware.ApplicationErrorMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "naeq.urls"
WSGI_APPLICATION = "naeq.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'naeq.sqlite3'}"),
        conn_max_age=int(os.environ.get("NAEQ_CONN_MAX_AGE", "0")),
    )
}
#: Database connections per `naeq serve` worker that carry group-committed answer saves (naeq.web.hotapi).
NAEQ_SAVE_CONNECTIONS = int(os.environ.get("NAEQ_SAVE_CONNECTIONS", "2"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while a job writes; a busy timeout instead of "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

# Login rate limit (django-axes): after this many failures for one username from one address the pair is
# locked out for the cool-off period. Counts live in the database, so they hold across web processes.
AXES_FAILURE_LIMIT = int(os.environ.get("NAEQ_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_VERBOSE = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 3600
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
# Static files ship inside the package and are served by WhiteNoise straight from the app directories, so a
# deployment with no internet and no separate web server still has every asset.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = DATA_DIR / "media"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "naeq"}}

# Background jobs: Celery over Redis when REDIS_URL is set, otherwise run in-process (naeq.core.jobs).
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("NAEQ_LOG_LEVEL", "WARNING")},
}

# Where cycle configuration files ship with the package.
NAEQ_CYCLE_CONFIG_DIR = BASE_DIR / "cycles" / "configs"
