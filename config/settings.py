"""Django settings for Switchyard. Values from the environment come from `config.env` only."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from config import env as environment

BASE_DIR: Path = environment.BASE_DIR
DEBUG = environment.DEBUG

if not environment.SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY is required unless DJANGO_DEBUG=true")
SECRET_KEY: str = environment.SECRET_KEY

ALLOWED_HOSTS = environment.ALLOWED_HOSTS
CSRF_TRUSTED_ORIGINS = environment.CSRF_TRUSTED_ORIGINS

INSTALLED_APPS = [
    "daphne",  # first, so `runserver` is daphne's ASGI server
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "dashboard",
    "rollouts",
    "quotas",
]

MIDDLEWARE = [
    "dashboard.metrics.RequestCountMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every view needs a signed-in user unless it is marked @login_not_required (login, /healthz, /metrics).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context_processors.permissions",
            ],
        },
    },
]

_database: dict[str, Any] = environment.database_config()
if _database["ENGINE"].endswith("sqlite3"):
    # A file, not :memory:, so a forked live server (ChannelsLiveServerTestCase) sees the same test data;
    # per process, because several people run the suite in one checkout.
    _database["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"switchyard-test-{os.getpid()}.sqlite3")}
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if environment.REDIS_URL:
    # Several daphne processes share groups through Redis (pip install 'switchyard[redis]').
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [environment.REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "state" / "static"

# Cookies only over HTTPS when asked for, or when a proxy terminates TLS for us.
_secure = environment.SECURE_COOKIES or environment.BEHIND_HTTPS_PROXY
SESSION_COOKIE_SECURE = _secure
CSRF_COOKIE_SECURE = _secure
if environment.BEHIND_HTTPS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

SWITCHYARD_KUBECONFIG = environment.SWITCHYARD_KUBECONFIG
SWITCHYARD_CONTEXTS = environment.SWITCHYARD_CONTEXTS
SWITCHYARD_DNS_SERVER = environment.SWITCHYARD_DNS_SERVER

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "kube": {"handlers": ["console"], "level": environment.LOG_LEVEL},
        "dashboard": {"handlers": ["console"], "level": environment.LOG_LEVEL},
    },
}
