"""The one exception callers of kube/ see, so nothing outside kube/ imports `kubernetes`."""

from __future__ import annotations

import json
from typing import Any


class KubeError(Exception):
    """A refused or failed API call: HTTP status, Kubernetes' reason (Conflict, Forbidden…) and message."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message

    @property
    def conflict(self) -> bool:
        return self.status == 409

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @classmethod
    def from_api_exception(cls, exc: Any) -> KubeError:
        """Kubernetes' own Status message when the body has one (shown verbatim to people)."""
        status = int(getattr(exc, "status", 0) or 0)
        reason = str(getattr(exc, "reason", "") or "")
        message = reason
        body = getattr(exc, "body", None)
        if body:
            try:
                parsed = json.loads(body)
            except (TypeError, ValueError):
                message = str(body)
            else:
                if isinstance(parsed, dict):
                    message = str(parsed.get("message") or message)
                    reason = str(parsed.get("reason") or reason)
        return cls(status, reason, message)
