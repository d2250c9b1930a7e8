"""config.settings read from a clean environment in a child process (settings are read once per process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROBE = (
    "import json; from django.conf import settings; "
    "print(json.dumps({'debug': settings.DEBUG, 'engine': settings.DATABASES['default']['ENGINE'], "
    "'layer': settings.CHANNEL_LAYERS['default']['BACKEND'], 'secure': settings.SESSION_COOKIE_SECURE, "
    "'hosts': settings.ALLOWED_HOSTS, 'apps0': settings.INSTALLED_APPS[0], 'contexts': settings.SWITCHYARD_CONTEXTS, "
    "'kubeconfig': settings.SWITCHYARD_KUBECONFIG}))"
)


def _settings(**env: str) -> subprocess.CompletedProcess[str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SWITCHYARD_", "KUBECONFIG"))}
    keep.pop("DATABASE_URL", None)
    keep.pop("REDIS_URL", None)
    keep.pop("SECURE_COOKIES", None)
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        env={**keep, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_secret_key_is_required_outside_debug() -> None:
    refused = _settings()
    assert refused.returncode != 0 and "DJANGO_SECRET_KEY is required" in refused.stderr
    dev = _settings(DJANGO_DEBUG="true", KUBECONFIG="/a:/b")
    assert dev.returncode == 0, dev.stderr
    values = json.loads(dev.stdout)
    assert values["debug"] is True and values["apps0"] == "daphne"
    assert values["engine"] == "django.db.backends.sqlite3" and values["layer"].endswith(
        "InMemoryChannelLayer"
    )
    assert values["kubeconfig"] == "/a:/b" and values["secure"] is False


def test_integrations_switch_on_with_their_urls() -> None:
    result = _settings(
        DJANGO_SECRET_KEY="k" * 50,
        DATABASE_URL="postgres://sy:pw@127.0.0.1:5432/switchyard",
        REDIS_URL="redis://127.0.0.1:6379/0",
        SECURE_COOKIES="true",
        DJANGO_ALLOWED_HOSTS="switchyard.internal,127.0.0.1",
        SWITCHYARD_CONTEXTS="prod,staging",
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["debug"] is False and values["engine"] == "django.db.backends.postgresql"
    assert values["layer"] == "channels_redis.core.RedisChannelLayer" and values["secure"] is True
    assert values["hosts"] == ["switchyard.internal", "127.0.0.1"] and values["contexts"] == [
        "prod",
        "staging",
    ]
