"""API errors as Kubernetes `Status` objects (apimachinery `pkg/api/errors/errors.go`).

Raise `APIError` anywhere below the HTTP layer (storage, admission, controllers); the routes turn it into
the Status body and HTTP code. Helper constructors reproduce Kubernetes' messages word for word.
"""

from __future__ import annotations

from typing import Any


class APIError(Exception):
    """A failed API call: HTTP `code`, machine `reason`, human `message`, optional `details`."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details or {}

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        details = {k: v for k, v in self.details.items() if v not in (None, "", [])}
        if details:
            body["details"] = details
        body["code"] = self.code
        return body


def qualified(resource: str, group: str) -> str:
    """`pods`, `deployments.apps`: how Kubernetes names a resource in messages."""
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, group: str, name: str) -> APIError:
    return APIError(
        404,
        "NotFound",
        f'{qualified(resource, group)} "{name}" not found',
        {"name": name, "group": group, "kind": resource},
    )


def already_exists(resource: str, group: str, name: str) -> APIError:
    return APIError(
        409,
        "AlreadyExists",
        f'{qualified(resource, group)} "{name}" already exists',
        {"name": name, "group": group, "kind": resource},
    )


def conflict(resource: str, group: str, name: str, why: str) -> APIError:
    return APIError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {why}',
        {"name": name, "group": group, "kind": resource},
    )


STALE = "the object has been modified; please apply your changes to the latest version and try again"


def invalid(kind: str, group: str, name: str, causes: list[dict[str, str]], message: str = "") -> APIError:
    """422 Invalid; `causes` are `{reason, message, field}` with Kubernetes' field-error texts."""
    if not message:
        parts = [f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes]
        body = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
        message = f'{kind}{"." + group if group else ""} "{name}" is invalid: {body}'
    return APIError(422, "Invalid", message, {"name": name, "group": group, "kind": kind, "causes": causes})


def forbidden(resource: str, group: str, name: str, why: str) -> APIError:
    subject = f'{qualified(resource, group)} "{name}"' if name else qualified(resource, group)
    return APIError(
        403, "Forbidden", f"{subject} is forbidden: {why}", {"name": name, "group": group, "kind": resource}
    )


def bad_request(message: str) -> APIError:
    return APIError(400, "BadRequest", message)


def unauthorized() -> APIError:
    return APIError(401, "Unauthorized", "Unauthorized")


def method_not_supported(resource: str, group: str, action: str) -> APIError:
    return APIError(
        405,
        "MethodNotAllowed",
        f"{action} is not supported on resources of kind {qualified(resource, group)!r}",
        {"group": group, "kind": resource},
    )


BODY_MEDIA_TYPES = ("application/json", "application/yaml")
PATCH_MEDIA_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
    "application/strategic-merge-patch+json",
)


def unsupported_media_type(content_type: str, accepted: tuple[str, ...] = BODY_MEDIA_TYPES) -> APIError:
    """Kubernetes' 415; ``accepted`` lists only what the endpoint really decodes."""
    del content_type  # Kubernetes does not echo it
    return APIError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(accepted),
    )


def not_acceptable(message: str) -> APIError:
    return APIError(406, "NotAcceptable", message)


def expired(message: str) -> APIError:
    return APIError(410, "Expired", message)


def gone(message: str) -> APIError:
    return APIError(410, "Gone", message)


def too_large_resource_version(requested: int, current: int) -> APIError:
    return APIError(
        504,
        "Timeout",
        f"Too large resource version: {requested}, current: {current}",
        {
            "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
            "retryAfterSeconds": 1,
        },
    )


def request_entity_too_large(message: str) -> APIError:
    return APIError(413, "RequestEntityTooLarge", message)


def success_status(name: str, group: str, resource: str, uid: str = "") -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "group": group, "kind": resource}
    if uid:
        details["uid"] = uid
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {k: v for k, v in details.items() if v},
    }
