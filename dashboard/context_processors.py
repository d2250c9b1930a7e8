from __future__ import annotations

from django.http import HttpRequest

from dashboard.roles import operate_refusal, user_can_operate


def permissions(request: HttpRequest) -> dict[str, object]:
    """`can_operate` and `operate_refusal` for every template: controls render disabled with the reason."""
    user = getattr(request, "user", None)
    return {"can_operate": user_can_operate(user), "operate_refusal": operate_refusal(user)}
