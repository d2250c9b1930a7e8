"""Request bodies in Kubernetes' protobuf encoding (``application/vnd.kubernetes.protobuf``).

client-go's typed clients (and so kubectl's built-in creators: ``kubectl create namespace``,
``create configmap``, ``create deployment`` …) POST protobuf. A body is the 4-byte magic ``k8s\\x00``
followed by a ``runtime.Unknown`` message::

    Unknown  { 1 typeMeta: TypeMeta{1 apiVersion, 2 kind}, 2 raw: bytes, 3 contentEncoding, 4 contentType }

``raw`` is the typed object (Namespace, Deployment, …) in proto2 wire format. ``decode_object`` turns it
into the same JSON dict the JSON path would produce, driven by ``SCHEMAS`` below: for each message,
field number → ``F(json name, type, flags)``. Field numbers come from kubernetes/api ``*/v1/generated.proto``
and apimachinery's ``meta/v1``, ``runtime``, ``util/intstr`` and ``api/resource`` protos.

Conventions, mirroring Go's JSON encoding of the same object:
- scalar fields are dropped when zero ("" / 0 / false) unless flagged ``PTR`` (a Go pointer: present on
  the wire means set, so an explicit ``replicas: 0`` survives); repeated elements are kept as they are
  (``apiGroups: [""]``);
- messages present on the wire become dicts, ``{}`` when empty (as Go emits ``"status": {}``);
- ``Time`` becomes RFC 3339 seconds (``null`` / omitted for the zero time), ``Quantity`` its string,
  ``IntOrString`` an int or a string, ``bytes`` base64;
- ``INLINE`` messages (Go's ``json:",inline"``) merge their fields into the parent;
- unknown field numbers are skipped; a known field with the wrong wire type is an error.

Only request bodies are decoded; responses stay JSON (every client accepts it).
"""

from __future__ import annotations

import base64
import datetime
from typing import Any, NamedTuple

CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

# wire types
VARINT, I64, LEN, I32 = 0, 1, 2, 5

# field flags
REP = 1  # repeated
MAP = 2  # map<string, type>
PTR = 4  # Go pointer: keep zero values
INLINE = 8  # json:",inline": merge the message's fields into the parent

# scalar and well-known types; anything else names a message in SCHEMAS
STR, BYTES, INT, BOOL, TIME, QTY, INTSTR = "string", "bytes", "int", "bool", "time", "quantity", "intstr"


class F(NamedTuple):
    json: str
    type: str
    flags: int = 0


class ProtobufError(ValueError):
    """The body is not a well-formed protobuf object of the schema it names."""


Schema = dict[int, F]

_META = {1: F("metadata", "ObjectMeta")}

SCHEMAS: dict[str, Schema] = {
    # -- apimachinery meta/v1 ------------------------------------------------------------------
    "ObjectMeta": {
        1: F("name", STR),
        2: F("generateName", STR),
        3: F("namespace", STR),
        4: F("selfLink", STR),
        5: F("uid", STR),
        6: F("resourceVersion", STR),
        7: F("generation", INT),
        8: F("creationTimestamp", TIME),
        9: F("deletionTimestamp", TIME),
        10: F("deletionGracePeriodSeconds", INT, PTR),
        11: F("labels", STR, MAP),
        12: F("annotations", STR, MAP),
        13: F("ownerReferences", "OwnerReference", REP),
        14: F("finalizers", STR, REP),
    },
    "OwnerReference": {
        5: F("apiVersion", STR),
        1: F("kind", STR),
        3: F("name", STR),
        4: F("uid", STR),
        6: F("controller", BOOL, PTR),
        7: F("blockOwnerDeletion", BOOL, PTR),
    },
    "LabelSelector": {
        1: F("matchLabels", STR, MAP),
        2: F("matchExpressions", "LabelSelectorRequirement", REP),
    },
    "LabelSelectorRequirement": {1: F("key", STR), 2: F("operator", STR), 3: F("values", STR, REP)},
    # -- core/v1 -------------------------------------------------------------------------------
    "Namespace": {**_META, 2: F("spec", "NamespaceSpec"), 3: F("status", "NamespaceStatus")},
    "NamespaceSpec": {1: F("finalizers", STR, REP)},
    "NamespaceStatus": {1: F("phase", STR), 2: F("conditions", "NamespaceCondition", REP)},
    "NamespaceCondition": {
        1: F("type", STR),
        2: F("status", STR),
        4: F("lastTransitionTime", TIME),
        5: F("reason", STR),
        6: F("message", STR),
    },
    "ConfigMap": {
        **_META,
        2: F("data", STR, MAP),
        3: F("binaryData", BYTES, MAP),
        4: F("immutable", BOOL, PTR),
    },
    "Secret": {
        **_META,
        2: F("data", BYTES, MAP),
        3: F("type", STR),
        4: F("stringData", STR, MAP),
        5: F("immutable", BOOL, PTR),
    },
    "ServiceAccount": {
        **_META,
        2: F("secrets", "ObjectReference", REP),
        3: F("imagePullSecrets", "LocalObjectReference", REP),
        4: F("automountServiceAccountToken", BOOL, PTR),
    },
    "ObjectReference": {
        1: F("kind", STR),
        2: F("namespace", STR),
        3: F("name", STR),
        4: F("uid", STR),
        5: F("apiVersion", STR),
        6: F("resourceVersion", STR),
        7: F("fieldPath", STR),
    },
    "LocalObjectReference": {1: F("name", STR)},
    "TypedLocalObjectReference": {1: F("apiGroup", STR, PTR), 2: F("kind", STR), 3: F("name", STR)},
    "Service": {**_META, 2: F("spec", "ServiceSpec"), 3: F("status", "ServiceStatus")},
    "ServiceSpec": {
        1: F("ports", "ServicePort", REP),
        2: F("selector", STR, MAP),
        3: F("clusterIP", STR),
        18: F("clusterIPs", STR, REP),
        4: F("type", STR),
        5: F("externalIPs", STR, REP),
        7: F("sessionAffinity", STR),
        8: F("loadBalancerIP", STR),
        9: F("loadBalancerSourceRanges", STR, REP),
        10: F("externalName", STR),
        11: F("externalTrafficPolicy", STR),
        12: F("healthCheckNodePort", INT),
        13: F("publishNotReadyAddresses", BOOL),
        19: F("ipFamilies", STR, REP),
        17: F("ipFamilyPolicy", STR, PTR),
        20: F("allocateLoadBalancerNodePorts", BOOL, PTR),
        21: F("loadBalancerClass", STR, PTR),
        22: F("internalTrafficPolicy", STR, PTR),
    },
    "ServicePort": {
        1: F("name", STR),
        2: F("protocol", STR),
        6: F("appProtocol", STR, PTR),
        3: F("port", INT),
        4: F("targetPort", INTSTR),
        5: F("nodePort", INT),
    },
    "ServiceStatus": {},
    "ResourceQuota": {**_META, 2: F("spec", "ResourceQuotaSpec"), 3: F("status", "ResourceQuotaStatus")},
    "ResourceQuotaSpec": {
        1: F("hard", QTY, MAP),
        2: F("scopes", STR, REP),
        3: F("scopeSelector", "ScopeSelector"),
    },
    "ScopeSelector": {1: F("matchExpressions", "ScopedResourceSelectorRequirement", REP)},
    "ScopedResourceSelectorRequirement": {
        1: F("scopeName", STR),
        2: F("operator", STR),
        3: F("values", STR, REP),
    },
    "ResourceQuotaStatus": {1: F("hard", QTY, MAP), 2: F("used", QTY, MAP)},
    "Pod": {**_META, 2: F("spec", "PodSpec"), 3: F("status", "PodStatus")},
    "PodStatus": {},
    "PodTemplateSpec": {**_META, 2: F("spec", "PodSpec")},
    "PodSpec": {
        20: F("initContainers", "Container", REP),
        2: F("containers", "Container", REP),
        3: F("restartPolicy", STR),
        4: F("terminationGracePeriodSeconds", INT, PTR),
        5: F("activeDeadlineSeconds", INT, PTR),
        6: F("dnsPolicy", STR),
        7: F("nodeSelector", STR, MAP),
        8: F("serviceAccountName", STR),
        9: F("serviceAccount", STR),
        21: F("automountServiceAccountToken", BOOL, PTR),
        10: F("nodeName", STR),
        11: F("hostNetwork", BOOL),
        12: F("hostPID", BOOL),
        13: F("hostIPC", BOOL),
        27: F("shareProcessNamespace", BOOL, PTR),
        15: F("imagePullSecrets", "LocalObjectReference", REP),
        16: F("hostname", STR),
        17: F("subdomain", STR),
        19: F("schedulerName", STR),
        22: F("tolerations", "Toleration", REP),
        24: F("priorityClassName", STR),
        25: F("priority", INT, PTR),
        30: F("enableServiceLinks", BOOL, PTR),
        31: F("preemptionPolicy", STR, PTR),
    },
    "Toleration": {
        1: F("key", STR),
        2: F("operator", STR),
        3: F("value", STR),
        4: F("effect", STR),
        5: F("tolerationSeconds", INT, PTR),
    },
    "Container": {
        1: F("name", STR),
        2: F("image", STR),
        3: F("command", STR, REP),
        4: F("args", STR, REP),
        5: F("workingDir", STR),
        6: F("ports", "ContainerPort", REP),
        7: F("env", "EnvVar", REP),
        8: F("resources", "ResourceRequirements"),
        10: F("livenessProbe", "Probe"),
        11: F("readinessProbe", "Probe"),
        22: F("startupProbe", "Probe"),
        13: F("terminationMessagePath", STR),
        20: F("terminationMessagePolicy", STR),
        14: F("imagePullPolicy", STR),
        16: F("stdin", BOOL),
        17: F("stdinOnce", BOOL),
        18: F("tty", BOOL),
    },
    "ContainerPort": {
        1: F("name", STR),
        2: F("hostPort", INT),
        3: F("containerPort", INT),
        4: F("protocol", STR),
        5: F("hostIP", STR),
    },
    "EnvVar": {1: F("name", STR), 2: F("value", STR), 3: F("valueFrom", "EnvVarSource")},
    "EnvVarSource": {
        1: F("fieldRef", "ObjectFieldSelector"),
        2: F("resourceFieldRef", "ResourceFieldSelector"),
        3: F("configMapKeyRef", "KeySelector"),
        4: F("secretKeyRef", "KeySelector"),
    },
    "ObjectFieldSelector": {1: F("apiVersion", STR), 2: F("fieldPath", STR)},
    "ResourceFieldSelector": {1: F("containerName", STR), 2: F("resource", STR), 3: F("divisor", QTY)},
    # ConfigMapKeySelector and SecretKeySelector share their layout.
    "KeySelector": {
        1: F("localObjectReference", "LocalObjectReference", INLINE),
        2: F("key", STR),
        3: F("optional", BOOL, PTR),
    },
    "ResourceRequirements": {1: F("limits", QTY, MAP), 2: F("requests", QTY, MAP)},
    "Probe": {
        1: F("handler", "ProbeHandler", INLINE),
        2: F("initialDelaySeconds", INT),
        3: F("timeoutSeconds", INT),
        4: F("periodSeconds", INT),
        5: F("successThreshold", INT),
        6: F("failureThreshold", INT),
        7: F("terminationGracePeriodSeconds", INT, PTR),
    },
    "ProbeHandler": {
        1: F("exec", "ExecAction"),
        2: F("httpGet", "HTTPGetAction"),
        3: F("tcpSocket", "TCPSocketAction"),
    },
    "ExecAction": {1: F("command", STR, REP)},
    "HTTPGetAction": {
        1: F("path", STR),
        2: F("port", INTSTR),
        3: F("host", STR),
        4: F("scheme", STR),
        5: F("httpHeaders", "HTTPHeader", REP),
    },
    "HTTPHeader": {1: F("name", STR), 2: F("value", STR)},
    "TCPSocketAction": {1: F("port", INTSTR), 2: F("host", STR)},
    # -- apps/v1 -------------------------------------------------------------------------------
    "Deployment": {**_META, 2: F("spec", "DeploymentSpec"), 3: F("status", "DeploymentStatus")},
    "DeploymentSpec": {
        1: F("replicas", INT, PTR),
        2: F("selector", "LabelSelector"),
        3: F("template", "PodTemplateSpec"),
        4: F("strategy", "DeploymentStrategy"),
        5: F("minReadySeconds", INT),
        6: F("revisionHistoryLimit", INT, PTR),
        7: F("paused", BOOL),
        9: F("progressDeadlineSeconds", INT, PTR),
    },
    "DeploymentStrategy": {1: F("type", STR), 2: F("rollingUpdate", "RollingUpdateDeployment")},
    "RollingUpdateDeployment": {1: F("maxUnavailable", INTSTR, PTR), 2: F("maxSurge", INTSTR, PTR)},
    "DeploymentStatus": {
        1: F("observedGeneration", INT),
        2: F("replicas", INT),
        3: F("updatedReplicas", INT),
        7: F("readyReplicas", INT),
        4: F("availableReplicas", INT),
        5: F("unavailableReplicas", INT),
        8: F("collisionCount", INT, PTR),
    },
    # -- rbac/v1 -------------------------------------------------------------------------------
    "Role": {**_META, 2: F("rules", "PolicyRule", REP)},
    "ClusterRole": {
        **_META,
        2: F("rules", "PolicyRule", REP),
        3: F("aggregationRule", "AggregationRule"),
    },
    "AggregationRule": {1: F("clusterRoleSelectors", "LabelSelector", REP)},
    "PolicyRule": {
        1: F("verbs", STR, REP),
        2: F("apiGroups", STR, REP),
        3: F("resources", STR, REP),
        4: F("resourceNames", STR, REP),
        5: F("nonResourceURLs", STR, REP),
    },
    "RoleBinding": {**_META, 2: F("subjects", "Subject", REP), 3: F("roleRef", "RoleRef")},
    "Subject": {1: F("kind", STR), 2: F("apiGroup", STR), 3: F("name", STR), 4: F("namespace", STR)},
    "RoleRef": {1: F("apiGroup", STR), 2: F("kind", STR), 3: F("name", STR)},
    # -- networking/v1 -------------------------------------------------------------------------
    "Ingress": {**_META, 2: F("spec", "IngressSpec"), 3: F("status", "IngressStatus")},
    "IngressSpec": {
        4: F("ingressClassName", STR, PTR),
        1: F("defaultBackend", "IngressBackend"),
        2: F("tls", "IngressTLS", REP),
        3: F("rules", "IngressRule", REP),
    },
    "IngressBackend": {
        4: F("service", "IngressServiceBackend"),
        3: F("resource", "TypedLocalObjectReference"),
    },
    "IngressServiceBackend": {1: F("name", STR), 2: F("port", "ServiceBackendPort")},
    "ServiceBackendPort": {1: F("name", STR), 2: F("number", INT)},
    "IngressTLS": {1: F("hosts", STR, REP), 2: F("secretName", STR)},
    "IngressRule": {1: F("host", STR), 2: F("ingressRuleValue", "IngressRuleValue", INLINE)},
    "IngressRuleValue": {1: F("http", "HTTPIngressRuleValue")},
    "HTTPIngressRuleValue": {1: F("paths", "HTTPIngressPath", REP)},
    "HTTPIngressPath": {1: F("path", STR), 3: F("pathType", STR, PTR), 2: F("backend", "IngressBackend")},
    "IngressStatus": {1: F("loadBalancer", "IngressLoadBalancerStatus")},
    "IngressLoadBalancerStatus": {1: F("ingress", "IngressLoadBalancerIngress", REP)},
    "IngressLoadBalancerIngress": {1: F("ip", STR), 2: F("hostname", STR)},
    # -- authorization/v1 (kubectl auth can-i) -------------------------------------------------
    "SelfSubjectAccessReview": {
        **_META,
        2: F("spec", "SelfSubjectAccessReviewSpec"),
        3: F("status", "SubjectAccessReviewStatus"),
    },
    "SelfSubjectAccessReviewSpec": {
        1: F("resourceAttributes", "ResourceAttributes", PTR),
        2: F("nonResourceAttributes", "NonResourceAttributes", PTR),
    },
    "ResourceAttributes": {
        1: F("namespace", STR),
        2: F("verb", STR),
        3: F("group", STR),
        4: F("version", STR),
        5: F("resource", STR),
        6: F("subresource", STR),
        7: F("name", STR),
    },
    "NonResourceAttributes": {1: F("path", STR), 2: F("verb", STR)},
    "SubjectAccessReviewStatus": {
        1: F("allowed", BOOL),
        4: F("denied", BOOL),
        2: F("reason", STR),
        3: F("evaluationError", STR),
    },
}
SCHEMAS["ClusterRoleBinding"] = SCHEMAS["RoleBinding"]

RBAC = "rbac.authorization.k8s.io/v1"
# (apiVersion, kind) accepted as protobuf → top-level message
KINDS: dict[tuple[str, str], str] = {
    **{
        ("v1", k): k
        for k in ("Namespace", "ConfigMap", "Secret", "ServiceAccount", "Service", "ResourceQuota", "Pod")
    },
    ("apps/v1", "Deployment"): "Deployment",
    **{(RBAC, k): k for k in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")},
    ("networking.k8s.io/v1", "Ingress"): "Ingress",
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): "SelfSubjectAccessReview",
}

_MAX_DEPTH = 32
# a map entry without a value holds the type's zero value
_MAP_DEFAULTS: dict[str, Any] = {STR: "", BYTES: "", QTY: "", INT: 0, BOOL: False}


def supports(api_version: str, kind: str) -> bool:
    """Whether bodies of this kind are accepted as protobuf."""
    return (api_version, kind) in KINDS


# -- wire format ------------------------------------------------------------------------------


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("unexpected end of data in a varint")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift >= 64:
            raise ProtobufError("varint overflows 64 bits")


def fields(data: bytes) -> list[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) for each field of a message, in wire order."""
    out: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        num, wire = key >> 3, key & 7
        if num == 0:
            raise ProtobufError("invalid field number 0")
        value: int | bytes
        if wire == VARINT:
            value, pos = _varint(data, pos)
        elif wire == LEN:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise ProtobufError(f"field {num}: length {size} runs past the end of the message")
            value, pos = data[pos : pos + size], pos + size
        elif wire in (I64, I32):
            width = 8 if wire == I64 else 4
            if pos + width > len(data):
                raise ProtobufError(f"field {num}: unexpected end of data")
            value, pos = int.from_bytes(data[pos : pos + width], "little"), pos + width
        else:
            raise ProtobufError(f"field {num}: unsupported wire type {wire}")
        out.append((num, wire, value))
    return out


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _expect(f: F, wire: int, want: int) -> None:
    if wire != want:
        raise ProtobufError(f"wrong wire type {wire} for field {f.json!r}")


def _text(f: F, raw: int | bytes, wire: int) -> str:
    _expect(f, wire, LEN)
    assert isinstance(raw, bytes)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtobufError(f"field {f.json!r} is not valid UTF-8") from None


def _time(data: bytes) -> str | None:
    seconds = nanos = 0
    for num, wire, value in fields(data):
        if num in (1, 2) and wire == VARINT:
            assert isinstance(value, int)
            if num == 1:
                seconds = _signed(value)
            else:
                nanos = _signed(value)
    if seconds == 0 and nanos == 0:
        return None
    try:
        when = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    except (OverflowError, OSError, ValueError):
        raise ProtobufError(f"time out of range: {seconds}s") from None
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _scalar(f: F, type_: str, wire: int, raw: int | bytes, depth: int) -> Any:
    if type_ == STR:
        return _text(f, raw, wire)
    if type_ == BYTES:
        _expect(f, wire, LEN)
        assert isinstance(raw, bytes)
        return base64.b64encode(raw).decode("ascii")
    if type_ == INT:
        _expect(f, wire, VARINT)
        assert isinstance(raw, int)
        return _signed(raw)
    if type_ == BOOL:
        _expect(f, wire, VARINT)
        return bool(raw)
    _expect(f, wire, LEN)
    assert isinstance(raw, bytes)
    if type_ == TIME:
        return _time(raw)
    if type_ == QTY:
        qty = ""
        for num, w, value in fields(raw):
            if num == 1:
                qty = _text(f, value, w)
        return qty
    if type_ == INTSTR:
        kind, int_val, str_val = 0, 0, ""
        for num, w, value in fields(raw):
            if num in (1, 2):
                _expect(f, w, VARINT)
                assert isinstance(value, int)
                if num == 1:
                    kind = value
                else:
                    int_val = _signed(value)
            elif num == 3:
                str_val = _text(f, value, w)
        return str_val if kind == 1 else int_val
    return _message(type_, raw, depth + 1)


def _zero(value: Any) -> bool:
    return value is None or (not isinstance(value, dict) and not value)


def _message(name: str, data: bytes, depth: int = 0) -> dict[str, Any]:
    if depth > _MAX_DEPTH:
        raise ProtobufError("message nesting too deep")
    schema = SCHEMAS[name]
    out: dict[str, Any] = {}
    for num, wire, raw in fields(data):
        f = schema.get(num)
        if f is None:
            continue  # unknown field: skipped, as a newer client's additions would be
        if f.flags & MAP:
            _expect(f, wire, LEN)
            assert isinstance(raw, bytes)
            key, value = "", _MAP_DEFAULTS.get(f.type, {})
            for enum, ewire, eraw in fields(raw):
                if enum == 1:
                    key = _text(f, eraw, ewire)
                elif enum == 2:
                    value = _scalar(f, f.type, ewire, eraw, depth)
            out.setdefault(f.json, {})[key] = value
        elif f.flags & REP:
            if f.type in (INT, BOOL) and wire == LEN:  # packed
                assert isinstance(raw, bytes)
                pos = 0
                while pos < len(raw):
                    item, pos = _varint(raw, pos)
                    out.setdefault(f.json, []).append(_scalar(f, f.type, VARINT, item, depth))
            else:
                out.setdefault(f.json, []).append(_scalar(f, f.type, wire, raw, depth))
        elif f.flags & INLINE:
            _expect(f, wire, LEN)
            assert isinstance(raw, bytes)
            out.update(_message(f.type, raw, depth + 1))
        else:
            value = _scalar(f, f.type, wire, raw, depth)
            if _zero(value) and not (f.flags & PTR and value is not None):
                out.pop(f.json, None)
            else:
                out[f.json] = value
    return out


def unwrap(body: bytes) -> tuple[str, str, bytes]:
    """(apiVersion, kind, raw) from a ``k8s\\x00`` + ``runtime.Unknown`` body."""
    if not body.startswith(MAGIC):
        raise ProtobufError("the body does not start with the protobuf magic number k8s\\x00")
    api_version = kind = encoding = content_type = ""
    raw = b""
    envelope = F("Unknown", "Unknown")
    for num, wire, value in fields(body[len(MAGIC) :]):
        if num == 1:
            _expect(envelope, wire, LEN)
            assert isinstance(value, bytes)
            for tnum, twire, tvalue in fields(value):
                if tnum == 1:
                    api_version = _text(F("apiVersion", STR), tvalue, twire)
                elif tnum == 2:
                    kind = _text(F("kind", STR), tvalue, twire)
        elif num == 2:
            _expect(F("raw", BYTES), wire, LEN)
            assert isinstance(value, bytes)
            raw = value
        elif num == 3:
            encoding = _text(F("contentEncoding", STR), value, wire)
        elif num == 4:
            content_type = _text(F("contentType", STR), value, wire)
    if encoding:
        raise ProtobufError(f"unsupported contentEncoding {encoding!r}")
    if content_type not in ("", CONTENT_TYPE):
        raise ProtobufError(f"unsupported contentType {content_type!r} inside the protobuf envelope")
    if not kind:
        raise ProtobufError("the protobuf envelope names no kind")
    return api_version, kind, raw


def decode_object(body: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded object; ``KeyError`` if its kind has no schema here."""
    api_version, kind, raw = unwrap(body)
    message = KINDS[(api_version, kind)]
    return {"apiVersion": api_version, "kind": kind, **_message(message, raw)}
