from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.admission.defaults import apply_defaults
from sandbox.apiserver.validation import FieldError, invalid_message, validate

SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_1123 = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
LABEL_1035 = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)


def container(**kw: Any) -> dict[str, Any]:
    return {"name": "c", "image": "nginx:1.10", **kw}


def pod(*containers: dict[str, Any], name: str = "p", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"containers": list(containers) or [container()], **spec}}


def deployment(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "nginx"}},
        "template": {"metadata": {"labels": {"app": "nginx"}}, "spec": {"containers": [container()]}},
    }
    base.update(spec)
    return {"metadata": {"name": "nginx-deployment"}, "spec": base}


def service(name: str = "greetserver", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"ports": [{"port": 50051}], **spec}}


def errors(resource: str, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    obj = copy.deepcopy(obj)
    apply_defaults(resource, obj)
    return [str(e) for e in validate(resource, obj, old)]


VALID = [
    ("pods", pod()),
    ("deployments", deployment()),
    ("replicasets", deployment()),
    ("services", service()),
    ("services", service(clusterIP="None")),
    (
        "services",
        {"metadata": {"name": "db"}, "spec": {"type": "ExternalName", "externalName": "db.example.com"}},
    ),
    ("namespaces", {"metadata": {"name": "mynamespace"}}),
    ("configmaps", {"metadata": {"name": "cm"}, "data": {"game.properties": "x", "KEY_1": "y"}}),
    ("secrets", {"metadata": {"name": "s"}, "data": {"password": "cGFzcw=="}}),
    (
        "resourcequotas",
        {"metadata": {"name": "q"}, "spec": {"hard": {"requests.cpu": "1", "count/deployments.apps": "2"}}},
    ),
    (
        "limitranges",
        {
            "metadata": {"name": "l"},
            "spec": {
                "limits": [
                    {
                        "type": "Container",
                        "default": {"cpu": "500m"},
                        "defaultRequest": {"cpu": "250m"},
                        "max": {"cpu": "1"},
                        "min": {"cpu": "100m"},
                    }
                ]
            },
        },
    ),
    (
        "ingresses",
        {
            "metadata": {"name": "greet-ingress"},
            "spec": {
                "ingressClassName": "nginx",
                "rules": [
                    {
                        "host": "greet.com",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "greetclient", "port": {"number": 9091}}},
                                }
                            ]
                        },
                    }
                ],
            },
        },
    ),
    ("roles", {"metadata": {"name": "system:pod-reader"}}),
    (
        "endpoints",
        {
            "metadata": {"name": "e"},
            "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 80}]}],
        },
    ),
    ("pods", {"metadata": {"generateName": "nginx-64ff9dbcdf-"}, "spec": {"containers": [container()]}}),
]


@pytest.mark.parametrize(("resource", "obj"), VALID)
def test_valid_objects_have_no_errors(resource: str, obj: dict[str, Any]) -> None:
    assert errors(resource, obj) == []


CASES = [
    (
        "pods",
        {"spec": {"containers": [container()]}},
        "metadata.name: Required value: name or generateName is required",
    ),
    ("pods", pod(name="Foo_Bar"), f'metadata.name: Invalid value: "Foo_Bar": {SUBDOMAIN}'),
    ("services", service(name="1greet"), f'metadata.name: Invalid value: "1greet": {LABEL_1035}'),
    ("namespaces", {"metadata": {"name": "my.ns"}}, f'metadata.name: Invalid value: "my.ns": {LABEL_1123}'),
    (
        "namespaces",
        {"metadata": {"name": "ns", "namespace": "x"}},
        "metadata.namespace: Forbidden: not allowed on this type",
    ),
    ("roles", {"metadata": {"name": "a/b"}}, "metadata.name: Invalid value: \"a/b\": may not contain '/'"),
    (
        "pods",
        {"metadata": {"name": "p", "labels": {"app": "-x"}}, "spec": {"containers": [container()]}},
        'metadata.labels: Invalid value: "-x": a valid label must be an empty string or consist of alphanumeric '
        "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
        "'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    ),
    (
        "pods",
        {"metadata": {"name": "p", "annotations": {"a b": "x"}}, "spec": {"containers": [container()]}},
        "metadata.annotations: Invalid value: \"a b\": name part must consist of alphanumeric characters, '-', '_' "
        "or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
        "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    ),
    ("pods", {"metadata": {"name": "p"}, "spec": {}}, "spec.containers: Required value"),
    ("pods", pod(container(name="")), "spec.containers[0].name: Required value"),
    ("pods", pod(container(image="")), "spec.containers[0].image: Required value"),
    ("pods", pod(container(), container()), 'spec.containers[1].name: Duplicate value: "c"'),
    (
        "pods",
        pod(container(ports=[{"containerPort": 70000}])),
        "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
    ),
    (
        "pods",
        pod(container(ports=[{"containerPort": 80, "protocol": "HTTP"}])),
        'spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
    ),
    (
        "pods",
        pod(container(resources={"requests": {"cpu": "2"}, "limits": {"cpu": "1000m"}})),
        'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
    ),
    (
        "pods",
        pod(container(resources={"limits": {"memory": "lots"}})),
        'spec.containers[0].resources.limits[memory]: Invalid value: "lots": quantities must match the regular '
        "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    ),
    (
        "pods",
        pod(container(resources={"requests": {"cpu": "-1"}})),
        'spec.containers[0].resources.requests[cpu]: Invalid value: "-1": must be greater than or equal to 0',
    ),
    (
        "pods",
        pod(restartPolicy="Sometimes"),
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ),
    (
        "pods",
        pod(container(env=[{"name": "1ABC", "value": "x"}])),
        'spec.containers[0].env[0].name: Invalid value: "1ABC": a valid environment variable name must consist of '
        "alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or "
        "'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')",
    ),
    ("deployments", deployment(selector=None), "spec.selector: Required value"),
    (
        "deployments",
        deployment(selector={"matchLabels": {"app": "other"}}),
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"nginx"}: '
        "`selector` does not match template `labels`",
    ),
    (
        "deployments",
        deployment(selector={}),
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment",
    ),
    (
        "deployments",
        deployment(replicas=-1),
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
    ),
    (
        "deployments",
        deployment(strategy={"type": "BlueGreen"}),
        'spec.strategy.type: Unsupported value: "BlueGreen": supported values: "Recreate", "RollingUpdate"',
    ),
    (
        "deployments",
        deployment(
            strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "0%"}}
        ),
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0",
    ),
    (
        "replicasets",
        deployment(
            template={
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"restartPolicy": "Never", "containers": [container()]},
            }
        ),
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
    ),
    (
        "services",
        service(ports=[{"port": 0}]),
        "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
    ),
    (
        "services",
        service(ports=[{"port": 53, "protocol": "DNS"}]),
        'spec.ports[0].protocol: Unsupported value: "DNS": supported values: "SCTP", "TCP", "UDP"',
    ),
    (
        "services",
        service(type="Internal"),
        'spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
    ),
    (
        "services",
        service(clusterIP="10.0.0.300"),
        'spec.clusterIP: Invalid value: "10.0.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
    ),
    (
        "services",
        service(ports=[{"port": 80, "name": "a"}, {"port": 81}]),
        "spec.ports[1].name: Required value",
    ),
    (
        "services",
        service(ports=[{"port": 80, "name": "a"}, {"port": 81, "name": "a"}]),
        'spec.ports[1].name: Duplicate value: "a"',
    ),
    ("services", service(ports=[]), "spec.ports: Required value"),
    (
        "configmaps",
        {"metadata": {"name": "cm"}, "data": {"a/b": "x"}},
        "data[a/b]: Invalid value: \"a/b\": a valid config key must consist of alphanumeric characters, '-', '_' or "
        "'.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    ),
    (
        "secrets",
        {"metadata": {"name": "s"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}},
        "data[tls.key]: Required value",
    ),
    (
        "resourcequotas",
        {"metadata": {"name": "q"}, "spec": {"hard": {"requests.cpu": "one"}}},
        'spec.hard[requests.cpu]: Invalid value: "one": quantities must match the regular expression '
        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    ),
    (
        "resourcequotas",
        {"metadata": {"name": "q"}, "spec": {"hard": {"gpus": "1"}}},
        'spec.hard[gpus]: Invalid value: "gpus": must be a standard resource for quota',
    ),
    (
        "limitranges",
        {
            "metadata": {"name": "l"},
            "spec": {"limits": [{"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}}]},
        },
        'spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1',
    ),
    (
        "limitranges",
        {
            "metadata": {"name": "l"},
            "spec": {
                "limits": [
                    {
                        "type": "Container",
                        "default": {"memory": "256Mi"},
                        "defaultRequest": {"memory": "512Mi"},
                    }
                ]
            },
        },
        'spec.limits[0].defaultRequest[memory]: Invalid value: "512Mi": default request value 512Mi is greater '
        "than default limit value 256Mi",
    ),
    (
        "limitranges",
        {
            "metadata": {"name": "l"},
            "spec": {"limits": [{"type": "Container", "default": {"cpu": "2"}, "max": {"cpu": "1"}}]},
        },
        'spec.limits[0].default[cpu]: Invalid value: "1": default value 2 is greater than max value 1',
    ),
    (
        "ingresses",
        {
            "metadata": {"name": "i"},
            "spec": {
                "rules": [
                    {
                        "host": "greet.com",
                        "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {}}]},
                    }
                ]
            },
        },
        'spec.rules[0].http.paths[0].backend: Invalid value: "": resource or service backend is required',
    ),
    (
        "ingresses",
        {
            "metadata": {"name": "i"},
            "spec": {
                "rules": [
                    {
                        "http": {
                            "paths": [
                                {"path": "/", "backend": {"service": {"name": "s", "port": {"number": 80}}}}
                            ]
                        }
                    }
                ]
            },
        },
        "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified",
    ),
    (
        "ingresses",
        {
            "metadata": {"name": "i"},
            "spec": {
                "rules": [
                    {
                        "http": {
                            "paths": [
                                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "s"}}}
                            ]
                        }
                    }
                ]
            },
        },
        "spec.rules[0].http.paths[0].backend: Required value: port name or number is required",
    ),
    (
        "pods",
        {"metadata": {"name": "p"}, "spec": {"containers": "nginx"}},
        'spec.containers: Invalid value: "nginx": must be of type array',
    ),
    ("deployments", deployment(replicas="3"), 'spec.replicas: Invalid value: "3": must be of type integer'),
]


@pytest.mark.parametrize(("resource", "obj", "expected"), CASES)
def test_field_errors_in_kubernetes_words(resource: str, obj: dict[str, Any], expected: str) -> None:
    assert expected in errors(resource, obj)


def test_reasons() -> None:
    obj = pod(container(name=""), container(name="c"), container(name="c"), restartPolicy="X")
    apply_defaults("pods", obj)
    reasons = {e.reason for e in validate("pods", obj)}
    assert reasons == {"FieldValueRequired", "FieldValueDuplicate", "FieldValueNotSupported"}


def test_invalid_message_one_and_many() -> None:
    one = [FieldError("FieldValueRequired", "spec.selector", "Required value")]
    assert (
        invalid_message("Deployment", "apps", "x", one)
        == 'Deployment.apps "x" is invalid: spec.selector: Required value'
    )
    many = [
        FieldError("FieldValueRequired", "spec.containers[0].image", "Required value"),
        FieldError("FieldValueRequired", "spec.containers[0].image", "Required value"),
        FieldError("FieldValueInvalid", "metadata.name", 'Invalid value: "A": bad'),
    ]
    assert invalid_message("Pod", "", "A", many) == (
        'Pod "A" is invalid: [spec.containers[0].image: Required value, metadata.name: Invalid value: "A": bad]'
    )
    assert invalid_message("Pod", "", "A", []) == 'Pod "A" is invalid'


UPDATES = [
    (
        "deployments",
        deployment(),
        deployment(
            selector={"matchLabels": {"app": "nginx2"}},
            template={"metadata": {"labels": {"app": "nginx2"}}, "spec": {"containers": [container()]}},
        ),
        'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"nginx2"}, '
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
    ),
    (
        "services",
        service(clusterIP="127.0.10.1"),
        service(clusterIP="127.0.10.2"),
        'spec.clusterIP: Invalid value: "127.0.10.2": field is immutable',
    ),
    (
        "pods",
        {**pod(), "metadata": {"name": "p", "uid": "1"}},
        {**pod(), "metadata": {"name": "p", "uid": "2"}},
        'metadata.uid: Invalid value: "2": field is immutable',
    ),
    (
        "pods",
        pod(),
        pod(container(ports=[{"containerPort": 80}])),
        "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
        "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously "
        "negative)",
    ),
]


@pytest.mark.parametrize(("resource", "old", "new", "expected"), UPDATES)
def test_immutable_fields_on_update(
    resource: str, old: dict[str, Any], new: dict[str, Any], expected: str
) -> None:
    apply_defaults(resource, old)
    assert expected in errors(resource, new, old)


def test_allowed_updates() -> None:
    old = pod()
    apply_defaults("pods", old)
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "nginx:1.11"
    new["spec"]["activeDeadlineSeconds"] = 30
    new["metadata"]["labels"] = {"a": "b"}
    assert validate("pods", new, old) == []
    svc_old = service(clusterIP="127.0.10.1")
    svc_new = service(clusterIP="127.0.10.1", selector={"app": "green"})
    assert validate("services", svc_new, svc_old) == []
    d_old, d_new = deployment(), deployment(replicas=5)
    apply_defaults("deployments", d_old)
    assert errors("deployments", d_new, d_old) == []


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.text(max_size=5)
    | st.floats(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
keys = st.sampled_from(
    ["metadata", "name", "labels", "annotations", "spec", "containers", "initContainers", "image", "ports",
     "port", "containerPort", "protocol", "resources", "limits", "requests", "env", "selector", "matchLabels",
     "matchExpressions", "template", "replicas", "strategy", "rollingUpdate", "maxSurge", "type", "clusterIP",
     "clusterIPs", "data", "hard", "min", "max", "default", "rules", "http", "paths", "backend", "service",
     "subsets", "addresses", "generateName", "targetPort", "nodePort"]
)  # fmt: skip
shaped = st.recursive(
    json_values,
    lambda children: st.dictionaries(keys, children, max_size=4) | st.lists(children, max_size=2),
    max_leaves=24,
)
RESOURCES = ["pods", "deployments", "replicasets", "services", "endpoints", "namespaces", "configmaps", "secrets",
             "resourcequotas", "limitranges", "ingresses", "roles", "events", "nodes"]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    resource=st.sampled_from(RESOURCES), obj=st.dictionaries(keys, shaped, max_size=4), old=st.none() | shaped
)
def test_malformed_objects_get_field_errors_not_exceptions(
    resource: str, obj: dict[str, Any], old: Any
) -> None:
    errs = validate(resource, obj, old)
    assert all(isinstance(e, FieldError) for e in errs)
    # The typed walker must handle every shape itself; the last-resort net must never fire.
    assert not any("malformed object" in e.message for e in errs)
    invalid_message("Pod", "", "x", errs)
