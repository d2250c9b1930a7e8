from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.apiserver.selectors import (
    SelectorError,
    label_selector_from_spec,
    parse_field_selector,
    parse_label_selector,
    selector_from_map,
)

# labels/selector_test.go TestSelectorParse: input → canonical String().
VALID = [
    ("x=a,y=b,z=c", "x=a,y=b,z=c"),
    ("", ""),
    ("x!=a,y=b", "x!=a,y=b"),
    ("x=", "x="),
    ("x= ", "x="),
    ("x=,z= ", "x=,z="),
    ("x= ,z= ", "x=,z="),
    ("!x", "!x"),
    ("x>1", "x>1"),
    ("x>1,z<5", "x>1,z<5"),
    ("x==a", "x==a"),
    ("z in (b,a),x notin (c)", "x notin (c),z in (a,b)"),
    ("x in (in)", "x in (in)"),
    ("k in ()", "k in ()"),
    ("x in (a,,b)", "x in (,a,b)"),
    ("app.kubernetes.io/name=web, tier", "app.kubernetes.io/name=web,tier"),
]
INVALID = [
    "x=a||y=b",
    "x==a==b",
    "!x=a",
    "x<a",
    "x=a,",
    "a b",
    "x in a",
    "x in (a",
    "-x=a",
    "a/b/c",
    "x=a b",
    ",",
]


@pytest.mark.parametrize(("text", "canonical"), VALID)
def test_parse_canonical(text: str, canonical: str) -> None:
    assert str(parse_label_selector(text)) == canonical


@pytest.mark.parametrize("text", INVALID)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(SelectorError):
        parse_label_selector(text)


def test_error_texts_are_kubernetes() -> None:
    with pytest.raises(
        SelectorError,
        match=r"^unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt$",
    ):
        parse_label_selector("a b")
    with pytest.raises(SelectorError, match=r"^found '', expected: identifier after ','$"):
        parse_label_selector("x=a,")


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("", {}, True),
        ("x=y", {"x": "y"}, True),
        ("x=y", {"x": "z"}, False),
        ("x!=y", {}, True),
        ("x in (a,b)", {"x": "b"}, True),
        ("x notin (a,b)", {"x": "b"}, False),
        ("x notin (a,b)", {}, True),
        ("x", {"x": ""}, True),
        ("!x", {"x": ""}, False),
        ("x>1", {"x": "2"}, True),
        ("x>1", {"x": "a"}, False),
        ("x<1", {}, False),
        ("run=greetserver,env in (prod)", {"run": "greetserver", "env": "prod"}, True),
    ],
)
def test_matches(text: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_label_selector(text).matches(labels) is expected


def test_from_spec_and_map() -> None:
    assert label_selector_from_spec(None).matches({}) is False
    assert label_selector_from_spec({}).matches({"a": "b"}) is True
    sel = label_selector_from_spec(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe"]}],
        }
    )
    assert str(sel) == "app=web,tier in (fe)"
    assert sel.matches({"app": "web", "tier": "fe"}) and not sel.matches({"app": "web"})
    with pytest.raises(SelectorError, match='"Gt" is not a valid label selector operator'):
        label_selector_from_spec({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]})
    with pytest.raises(SelectorError):
        label_selector_from_spec({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["1"]}]})
    svc = selector_from_map({"app": "green", "name": "x"})
    assert str(svc) == "app=green,name=x"
    assert svc.matches({"app": "green", "name": "x", "extra": "1"}) and not svc.matches({"app": "blue"})
    assert selector_from_map({}).matches({})


def test_field_selectors() -> None:
    pod = {
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"nodeName": "sandbox"},
        "status": {"phase": "Running"},
    }
    assert parse_field_selector("metadata.name=p,status.phase!=Pending", "pods").matches(pod)
    assert not parse_field_selector("spec.nodeName==other", "pods").matches(pod)
    assert parse_field_selector("", "pods").matches(pod)
    assert parse_field_selector("status.podIP=", "pods").matches(pod)  # an absent field is ""
    event = {
        "involvedObject": {"kind": "Pod", "name": "p"},
        "source": {"component": "kubelet"},
        "type": "Warning",
    }
    assert parse_field_selector("involvedObject.kind=Pod,source=kubelet,type=Warning", "events").matches(
        event
    )
    assert parse_field_selector("spec.unschedulable=false", "nodes").matches({"spec": {}})
    assert parse_field_selector("status.replicas=0", "replicasets").matches({"status": {}})
    assert str(parse_field_selector(r"metadata.name=a\,b", "configmaps")) == r"metadata.name=a\,b"
    assert parse_field_selector(r"metadata.name=a\,b", "configmaps").matches({"metadata": {"name": "a,b"}})
    with pytest.raises(SelectorError, match=r"^field label not supported: spec.nodeName$"):
        parse_field_selector("spec.nodeName=x", "services")
    with pytest.raises(SelectorError, match=r"^invalid selector: 'foo'; can't understand 'foo'$"):
        parse_field_selector("foo", "pods")


_name = st.from_regex(r"[a-z0-9]([a-z0-9._-]{0,8}[a-z0-9])?", fullmatch=True)
_key = st.one_of(
    _name, st.builds(lambda p, n: f"{p}.io/{n}", st.from_regex(r"[a-z]{1,5}", fullmatch=True), _name)
)


@st.composite
def selector_text(draw: st.DrawFn) -> str:
    terms = []
    for _ in range(draw(st.integers(0, 4))):
        key = draw(_key)
        kind = draw(st.sampled_from(["=", "==", "!=", "in", "notin", "exists", "!", ">"]))
        if kind in ("in", "notin"):
            terms.append(f"{key} {kind} ({','.join(draw(st.lists(_name, min_size=1, max_size=3)))})")
        elif kind == "exists":
            terms.append(key)
        elif kind == "!":
            terms.append("!" + key)
        elif kind == ">":
            # "-1" is no valid label value, so Kubernetes rejects negative bounds too.
            terms.append(f"{key}>{draw(st.integers(0, 100))}")
        else:
            terms.append(f"{key}{kind}{draw(_name)}")
    return ",".join(terms)


@settings(max_examples=100, deadline=None)
@given(selector_text(), st.dictionaries(_key, _name, max_size=4))
def test_str_reparses_to_equal_selector(text: str, labels: dict[str, str]) -> None:
    sel = parse_label_selector(text)
    again = parse_label_selector(str(sel))
    assert again == sel
    assert again.matches(labels) == sel.matches(labels)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="ab=!(),<> in notx/.-_", max_size=16))
def test_arbitrary_text_only_raises_selector_error(text: str) -> None:
    with contextlib.suppress(SelectorError):
        parse_label_selector(text)
    with contextlib.suppress(SelectorError):
        parse_field_selector(text, "pods")
