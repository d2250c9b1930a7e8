"""Kubernetes' quota refusals (the seed's FailedCreate messages) read back into numbers and words."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from quantities import parse_quantity
from quotas.refusals import EXCEEDED, MUST_SPECIFY, OTHER, refusal_parse

EXCEEDED_MESSAGE = (
    '(combined from similar events): Error creating: pods "helloworld-deployment-7986cbf64d-pjms2" is forbidden: '
    "exceeded quota: user-compute-quota, requested: limits.memory=1Gi,requests.memory=512Mi, "
    "used: limits.memory=2Gi,requests.memory=1Gi, limited: limits.memory=2Gi,requests.memory=1Gi"
)
MUST_SPECIFY_MESSAGE = (
    'Error creating: pods "nginx-deployment-64ff9dbcdf-wkr8s" is forbidden: failed quota: user-compute-quota: '
    "must specify limits.cpu for: k8s-demo; limits.memory for: k8s-demo; requests.cpu for: k8s-demo; "
    "requests.memory for: k8s-demo"
)


def test_exceeded_quota_from_the_seed() -> None:
    r = refusal_parse(EXCEEDED_MESSAGE)
    assert r.kind == EXCEEDED and r.quota == "user-compute-quota" and r.message == EXCEEDED_MESSAGE
    by = {x.resource: x for x in r.resources}
    assert list(by) == ["limits.memory", "requests.memory"]
    assert by["requests.memory"].requested == parse_quantity("512Mi")
    assert by["requests.memory"].used == parse_quantity("1Gi") == by["requests.memory"].limited
    assert str(by["limits.memory"].short) == "1Gi" and str(by["requests.memory"].free) == "0"
    assert r.plain == (
        "Quota user-compute-quota has run out of limits.memory (each pod asks 1Gi, 2Gi of 2Gi already used, "
        "1Gi short) and requests.memory (each pod asks 512Mi, 1Gi of 1Gi already used, 512Mi short)."
    )


def test_must_specify_from_the_seed() -> None:
    r = refusal_parse(MUST_SPECIFY_MESSAGE)
    assert r.kind == MUST_SPECIFY and r.quota == "user-compute-quota"
    assert r.missing == {
        "limits.cpu": ("k8s-demo",),
        "limits.memory": ("k8s-demo",),
        "requests.cpu": ("k8s-demo",),
        "requests.memory": ("k8s-demo",),
    }
    assert "container k8s-demo lacks limits.cpu, limits.memory, requests.cpu, requests.memory" in r.plain


def test_must_specify_with_several_containers() -> None:
    r = refusal_parse("failed quota: q: must specify limits.cpu for: a,b; requests.memory for: b")
    assert r.missing == {"limits.cpu": ("a", "b"), "requests.memory": ("b",)}
    assert "containers a, b lack limits.cpu; container b lacks requests.memory" in r.plain


def test_other_messages_are_kept_verbatim_without_a_plain_line() -> None:
    message = 'pods "x" is forbidden: maximum cpu usage per Container is 1, but limit is 2'
    r = refusal_parse(message)
    assert r.kind == OTHER and r.message == message and r.plain == "" and r.resources == ()


@given(
    requested=st.integers(min_value=1, max_value=10**6),
    used=st.integers(min_value=0, max_value=10**6),
    limited=st.integers(min_value=0, max_value=10**6),
)
def test_exceeded_round_trips_any_numbers(requested: int, used: int, limited: int) -> None:
    msg = (
        f"exceeded quota: q-1, requested: requests.cpu={requested}m, used: requests.cpu={used}m, "
        f"limited: requests.cpu={limited}m"
    )
    (r,) = refusal_parse(msg).resources
    assert (r.requested.milli_value(), r.used.milli_value(), r.limited.milli_value()) == (
        requested,
        used,
        limited,
    )
    assert r.short.milli_value() == max(0, used + requested - limited)
