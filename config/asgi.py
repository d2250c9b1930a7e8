"""ASGI entry point: HTTP to Django, websockets through origin check → session auth → URL routing."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()  # before importing consumers: it sets up the app registry

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from dashboard.routing import websocket_urlpatterns  # noqa: E402
from quotas.routing import websocket_urlpatterns as quotas_websocket_urlpatterns  # noqa: E402
from rollouts.routing import websocket_urlpatterns as rollout_websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # daphne alone serves our few vendored files (no CDN, no separate web server for a control room).
        "http": ASGIStaticFilesHandler(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(
                URLRouter(
                    websocket_urlpatterns + rollout_websocket_urlpatterns + quotas_websocket_urlpatterns
                )
            )
        ),
    }
)
