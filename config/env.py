"""The one module that reads the environment. Everything else imports the values from here."""

from __future__ import annotations

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG: bool = env.bool("DJANGO_DEBUG", default=False)

# A development key exists only when DEBUG is asked for; anywhere else a missing key is an error.
_DEV_SECRET_KEY = "django-insecure-switchyard-development-only"
SECRET_KEY: str | None = env.str("DJANGO_SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else None)

ALLOWED_HOSTS: list[str] = env.list(
    "DJANGO_ALLOWED_HOSTS",
    default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else ["localhost", "127.0.0.1"],
)
CSRF_TRUSTED_ORIGINS: list[str] = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SECURE_COOKIES: bool = env.bool("SECURE_COOKIES", default=False)
# Set when a TLS-terminating proxy in front of daphne says so with X-Forwarded-Proto.
BEHIND_HTTPS_PROXY: bool = env.bool("DJANGO_BEHIND_HTTPS_PROXY", default=False)

DATABASE_URL: str | None = env.str("DATABASE_URL", default=None)
SQLITE_PATH: Path = Path(env.str("SWITCHYARD_SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3")))
REDIS_URL: str | None = env.str("REDIS_URL", default=None)

# kubectl's rules: $KUBECONFIG (several files joined by os.pathsep) or ~/.kube/config.
SWITCHYARD_KUBECONFIG: str = env.str(
    "SWITCHYARD_KUBECONFIG", default=os.environ.get("KUBECONFIG") or str(Path("~/.kube/config").expanduser())
)
# Optional allow-list of kubeconfig context names; empty means every context.
SWITCHYARD_CONTEXTS: list[str] = env.list("SWITCHYARD_CONTEXTS", default=[])

# host:port of the DNS server the traffic probe resolves cluster names with (the sandbox prints its own);
# empty: the system resolver, which is right when Switchyard runs inside the cluster.
SWITCHYARD_DNS_SERVER: str = env.str("SWITCHYARD_DNS_SERVER", default="")

LOG_LEVEL: str = env.str("DJANGO_LOG_LEVEL", default="INFO")


def database_config() -> dict[str, object]:
    """PostgreSQL (or anything dj-database-url knows) when DATABASE_URL is set, else a SQLite file."""
    if DATABASE_URL:
        return dict(env.db_url_config(DATABASE_URL))
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": SQLITE_PATH}
