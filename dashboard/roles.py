"""The two roles and the one question every template and mutating view asks: may this user act?"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden

VIEWER = "viewer"
OPERATOR = "operator"
ROLES = (VIEWER, OPERATOR)
OPERATE_PERMISSION = "dashboard.operate_cluster"


def user_can_operate(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    return bool(
        user is not None and user.is_authenticated and user.is_active and user.has_perm(OPERATE_PERMISSION)
    )


def operate_refusal(user: AbstractBaseUser | AnonymousUser | None) -> str:
    """Why this user may not act, in words for a disabled button's title; "" when they may."""
    if user is None or not user.is_authenticated:
        return "Sign in to make changes."
    if user_can_operate(user):
        return ""
    return "Your role is viewer: you can see everything but change nothing. Ask an operator."


ViewFunc = Callable[..., HttpResponse]


def operator_required(view: ViewFunc) -> ViewFunc:
    """403 for anyone who may not operate, whatever the template showed them."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not user_can_operate(request.user):
            return HttpResponseForbidden(operate_refusal(request.user))
        return view(request, *args, **kwargs)

    return wrapper


def role_groups_ensure() -> dict[str, Any]:
    """The viewer and operator groups as the migration makes them (again, after a flush wiped them)."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    content_type, _ = ContentType.objects.get_or_create(app_label="dashboard", model="clusteraccess")
    operate, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename="operate_cluster",
        defaults={"name": "Can change cluster objects (scale, switch, apply)"},
    )
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in ROLES}
    groups[OPERATOR].permissions.add(operate)
    return groups
