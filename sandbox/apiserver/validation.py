"""Object validation with Kubernetes' field paths and messages.

Follows pkg/apis/core/validation/validation.go, pkg/apis/apps/validation/validation.go,
pkg/apis/networking/validation/validation.go and apimachinery's pkg/util/validation (the
texts), and field/errors.go (how a FieldError prints). validate() never raises: a value of the
wrong type anywhere becomes a FieldError (Kubernetes would reject it while decoding).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from quantities import ERR_FORMAT_WRONG, QuantityError, parse_quantity
from sandbox.apiserver.selectors import (
    SelectorError,
    label_selector_from_spec,
    label_value_errors,
    qualified_name_errors,
)


@dataclass(frozen=True)
class FieldError:
    """One field.Error: reason is the cause type (FieldValueInvalid…), message its ErrorBody()."""

    reason: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
DUPLICATE = "FieldValueDuplicate"
FORBIDDEN = "FieldValueForbidden"
TOO_LONG = "FieldValueTooLong"
TYPE_INVALID = "FieldValueTypeInvalid"


# --- how values print (Go's %q / %v / %#v as field.Error uses them) ----------------------------------


def go_quote(text: str) -> str:
    """Go's %q for a string."""
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def go_value(value: Any) -> str:
    """A bad value as field.Error prints it: strings quoted, numbers bare, maps as Go literals."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        if all(isinstance(v, str) for v in value.values()):
            inner = ", ".join(f"{go_quote(str(k))}:{go_quote(v)}" for k, v in sorted(value.items()))
            return "map[string]string{" + inner + "}"
        inner = ", ".join(f"{go_quote(str(k))}:{go_value(v)}" for k, v in sorted(value.items()))
        return "map[string]interface {}{" + inner + "}"
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return "[]string{" + ", ".join(go_quote(v) for v in value) + "}"
        return "[]interface {}{" + ", ".join(go_value(v) for v in value) + "}"
    return go_quote(str(value))


def required(path: str, detail: str = "") -> FieldError:
    return FieldError(REQUIRED, path, "Required value" + (f": {detail}" if detail else ""))


def invalid(path: str, value: Any, detail: str) -> FieldError:
    body = f"Invalid value: {go_value(value)}"
    return FieldError(INVALID, path, body + (f": {detail}" if detail else ""))


def not_supported(path: str, value: Any, supported: Iterable[str]) -> FieldError:
    values = ", ".join(go_quote(s) for s in supported)
    return FieldError(
        NOT_SUPPORTED, path, f"Unsupported value: {go_value(value)}: supported values: {values}"
    )


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError(DUPLICATE, path, f"Duplicate value: {go_value(value)}")


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError(FORBIDDEN, path, "Forbidden" + (f": {detail}" if detail else ""))


def too_long(path: str, limit: int) -> FieldError:
    return FieldError(TOO_LONG, path, f"Too long: may not be more than {limit} bytes")


_JSON_TYPES = {dict: "object", list: "array", str: "string", int: "integer", bool: "boolean"}


def type_invalid(path: str, value: Any, expected: str) -> FieldError:
    return FieldError(TYPE_INVALID, path, f"Invalid value: {go_value(value)}: must be of type {expected}")


def invalid_message(kind: str, group: str, name: str, errors: list[FieldError]) -> str:
    """errors.NewInvalid's message: `Deployment.apps "x" is invalid: p: b` or `[p1: b1, p2: b2]`."""
    qualified = f"{kind}.{group}" if group else kind
    head = f"{qualified} {go_quote(name)} is invalid"
    seen: list[str] = []
    for err in errors:
        text = str(err)
        if text not in seen:
            seen.append(text)
    if not seen:
        return head
    body = seen[0] if len(seen) == 1 else "[" + ", ".join(seen) + "]"
    return f"{head}: {body}"


# --- quantities -----------------------------------------------------------------------------------------

QUANTITY_MESSAGE = ERR_FORMAT_WRONG


def quantity_value(text: Any) -> Fraction | None:
    """The exact value of a Kubernetes quantity (string or JSON number), None if it is not one."""
    try:
        return parse_quantity(text).amount
    except (QuantityError, TypeError, ValueError, OverflowError):
        return None


def quantity_text(text: Any) -> str:
    """How Quantity.String() prints a quantity (canonical form); the text as given if unparseable."""
    try:
        return str(parse_quantity(text))
    except (QuantityError, TypeError, ValueError, OverflowError):
        return text if isinstance(text, str) else go_value(text)


# --- names (apimachinery pkg/util/validation) -----------------------------------------------------------

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + r"(\." + _DNS1123_LABEL_FMT + ")*"
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_ENV_VAR_FMT = "[-._a-zA-Z][-._a-zA-Z0-9]*"
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
_PERCENT_FMT = "[0-9]+%"


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    # validation.RegexError, including its doubled space after each example's comma.
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    parts = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {parts}regex used for validation is '{fmt}')"


def _matches(fmt: str, value: str) -> bool:
    return re.fullmatch(fmt, value) is not None


def dns1123_subdomain_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not _matches(_DNS1123_SUBDOMAIN_FMT, value):
        errs.append(
            _regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                "and must start and end with an alphanumeric character",
                _DNS1123_SUBDOMAIN_FMT,
                "example.com",
            )
        )
    return errs


def dns1123_label_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _matches(_DNS1123_LABEL_FMT, value):
        errs.append(
            _regex_error(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                "and must start and end with an alphanumeric character",
                _DNS1123_LABEL_FMT,
                "my-name",
                "123-abc",
            )
        )
    return errs


def dns1035_label_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _matches(_DNS1035_LABEL_FMT, value):
        errs.append(
            _regex_error(
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                "alphabetic character, and end with an alphanumeric character",
                _DNS1035_LABEL_FMT,
                "my-name",
                "abc-123",
            )
        )
    return errs


def path_segment_errors(value: str) -> list[str]:
    """path.IsValidPathSegmentName (RBAC names)."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in value]


def _chdir_prefix_errors(value: str) -> list[str]:
    if value == ".":
        return ["must not be '.'"]
    if value == "..":
        return ["must not be '..'"]
    if value.startswith(".."):
        return ["must not start with '..'"]
    return []


def env_var_name_errors(value: str) -> list[str]:
    errs = []
    if not _matches(_ENV_VAR_FMT, value):
        errs.append(
            _regex_error(
                "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', "
                "or '.', and must not start with a digit",
                _ENV_VAR_FMT,
                "my.env-name",
                "MY_ENV.NAME",
                "MyEnvName1",
            )
        )
    return errs + _chdir_prefix_errors(value)


def config_key_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not _matches(_CONFIG_KEY_FMT, value):
        errs.append(
            _regex_error(
                "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                _CONFIG_KEY_FMT,
                "key.name",
                "KEY_NAME",
                "key-name",
            )
        )
    return errs + _chdir_prefix_errors(value)


def port_name_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 15:
        errs.append("must be no more than 15 characters")
    if not _matches("[-a-z0-9]+", value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", value):
        errs.append("must contain at least one letter (a-z)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if value and (value[0] == "-" or value[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


PORT_RANGE = "must be between 1 and 65535, inclusive"
NON_NEGATIVE = "must be greater than or equal to 0"
IMMUTABLE = "field is immutable"
IP_MESSAGE = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


# --- the walker: typed access that reports instead of raising --------------------------------------------


class _Check:
    """Collects FieldErrors; its getters return None (and report) when a value has the wrong type."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, err: FieldError) -> None:
        self.errors.append(err)

    def typed(self, parent: Any, key: str, path: str, want: type | tuple[type, ...], name: str) -> Any:
        if not isinstance(parent, dict):
            return None
        value = parent.get(key)
        if value is None:
            return None
        ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
        if not ok:
            self.add(type_invalid(path, value, name))
            return None
        return value

    def obj(self, parent: Any, key: str, path: str) -> dict[str, Any] | None:
        value: dict[str, Any] | None = self.typed(parent, key, path, dict, "object")
        return value

    def arr(self, parent: Any, key: str, path: str) -> list[Any] | None:
        value: list[Any] | None = self.typed(parent, key, path, list, "array")
        return value

    def text(self, parent: Any, key: str, path: str) -> str | None:
        value: str | None = self.typed(parent, key, path, str, "string")
        return value

    def integer(self, parent: Any, key: str, path: str) -> int | None:
        value: int | None = self.typed(parent, key, path, int, "integer")
        return value

    def boolean(self, parent: Any, key: str, path: str) -> bool | None:
        value: bool | None = self.typed(parent, key, path, bool, "boolean")
        return value

    def items(self, parent: Any, key: str, path: str) -> list[tuple[int, str, dict[str, Any]]]:
        """The object elements of a list as (index, path, element); others are reported."""
        out = []
        for i, item in enumerate(self.arr(parent, key, path) or []):
            ipath = f"{path}[{i}]"
            if isinstance(item, dict):
                out.append((i, ipath, item))
            else:
                self.add(type_invalid(ipath, item, "object"))
        return out

    def string_map(self, parent: Any, key: str, path: str) -> dict[str, str]:
        raw = self.obj(parent, key, path) or {}
        out = {}
        for k, v in raw.items():
            if isinstance(v, str):
                out[k] = v
            else:
                self.add(type_invalid(f"{path}[{k}]", v, "string"))
        return out


# --- metadata -----------------------------------------------------------------------------------------------

NameFn = Callable[[str], list[str]]

_CLUSTER_SCOPED = frozenset({"namespaces", "nodes", "clusterroles", "clusterrolebindings"})
_RBAC = frozenset({"roles", "clusterroles", "rolebindings", "clusterrolebindings"})


def _name_fn(resource: str) -> NameFn:
    if resource == "services":
        return dns1035_label_errors
    if resource == "namespaces":
        return dns1123_label_errors
    if resource in _RBAC:
        return path_segment_errors
    return dns1123_subdomain_errors


# Kubernetes' name generator: at most 63 - 5 characters of the prefix, then 5 random ones.
GENERATED_SUFFIX_LEN = 5
GENERATED_PREFIX_MAX = 63 - GENERATED_SUFFIX_LEN


def _labels(c: _Check, labels: dict[str, str], path: str) -> None:
    for key, value in labels.items():
        for msg in qualified_name_errors(key):
            c.add(invalid(path, key, msg))
        for msg in label_value_errors(value):
            c.add(invalid(path, value, msg))


_ANNOTATIONS_LIMIT = 256 * (1 << 10)


def _annotations(c: _Check, annotations: dict[str, str], path: str) -> None:
    total = 0
    for key, value in annotations.items():
        for msg in qualified_name_errors(key.lower()):
            c.add(invalid(path, key, msg))
        total += len(key) + len(value)
    if total > _ANNOTATIONS_LIMIT:
        c.add(too_long(path, _ANNOTATIONS_LIMIT))


def _metadata(c: _Check, resource: str, obj: dict[str, Any], path: str = "metadata") -> None:
    meta = obj.get("metadata")
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        c.add(type_invalid(path, meta, "object"))
        return
    name_fn = _name_fn(resource)
    generate = c.text(meta, "generateName", f"{path}.generateName")
    name = c.text(meta, "name", f"{path}.name")
    if generate and not name:
        # Kubernetes validates the name generated from the prefix, not the prefix: "web." is a fine
        # prefix for "web.x7k2p". Before the server has generated it, check a stand-in of that shape.
        for msg in name_fn(generate[:GENERATED_PREFIX_MAX] + "x" * GENERATED_SUFFIX_LEN):
            c.add(invalid(f"{path}.generateName", generate, msg))
    if not name:
        # The server fills name from generateName; validating before that must not fail for it.
        if not generate and isinstance(meta.get("name"), str | type(None)):
            c.add(required(f"{path}.name", "name or generateName is required"))
    else:
        for msg in name_fn(name):
            c.add(invalid(f"{path}.name", name, msg))
    namespace = c.text(meta, "namespace", f"{path}.namespace")
    if resource in _CLUSTER_SCOPED:
        if namespace:
            c.add(forbidden(f"{path}.namespace", "not allowed on this type"))
    elif namespace:
        for msg in dns1123_label_errors(namespace):
            c.add(invalid(f"{path}.namespace", namespace, msg))
    _labels(c, c.string_map(meta, "labels", f"{path}.labels"), f"{path}.labels")
    _annotations(c, c.string_map(meta, "annotations", f"{path}.annotations"), f"{path}.annotations")


# --- containers and pod specs ----------------------------------------------------------------------------

_PROTOCOLS = ("SCTP", "TCP", "UDP")


def _quantities(c: _Check, resources: dict[str, Any], key: str, path: str) -> dict[str, Fraction]:
    out = {}
    for name, raw in (c.obj(resources, key, f"{path}.{key}") or {}).items():
        qpath = f"{path}.{key}[{name}]"
        value = quantity_value(raw)
        if value is None:
            c.add(invalid(qpath, raw, QUANTITY_MESSAGE))
            continue
        if value < 0:
            c.add(invalid(qpath, quantity_text(raw), NON_NEGATIVE))
        out[name] = value
    return out


def _resources(c: _Check, container: dict[str, Any], path: str) -> None:
    resources = c.obj(container, "resources", f"{path}.resources")
    if resources is None:
        return
    rpath = f"{path}.resources"
    limits = _quantities(c, resources, "limits", rpath)
    requests = _quantities(c, resources, "requests", rpath)
    raw_limits = resources.get("limits") or {}
    raw_requests = resources.get("requests") or {}
    for name, request in requests.items():
        if name in limits and request > limits[name]:
            c.add(
                invalid(
                    f"{rpath}.requests",
                    quantity_text(raw_requests[name]),
                    f"must be less than or equal to {name} limit of {quantity_text(raw_limits[name])}",
                )
            )


def _container_ports(c: _Check, container: dict[str, Any], path: str) -> None:
    names: set[str] = set()
    for _, ppath, port in c.items(container, "ports", f"{path}.ports"):
        name = c.text(port, "name", f"{ppath}.name")
        if name:
            for msg in port_name_errors(name):
                c.add(invalid(f"{ppath}.name", name, msg))
            if name in names:
                c.add(duplicate(f"{ppath}.name", name))
            names.add(name)
        container_port = c.integer(port, "containerPort", f"{ppath}.containerPort")
        if container_port is None or container_port == 0:
            if port.get("containerPort") is None or container_port == 0:
                c.add(required(f"{ppath}.containerPort"))
        elif not 1 <= container_port <= 65535:
            c.add(invalid(f"{ppath}.containerPort", container_port, PORT_RANGE))
        host_port = c.integer(port, "hostPort", f"{ppath}.hostPort")
        if host_port and not 1 <= host_port <= 65535:
            c.add(invalid(f"{ppath}.hostPort", host_port, PORT_RANGE))
        protocol = c.text(port, "protocol", f"{ppath}.protocol")
        if protocol is not None and protocol not in _PROTOCOLS:
            c.add(not_supported(f"{ppath}.protocol", protocol, _PROTOCOLS))


def _env(c: _Check, container: dict[str, Any], path: str) -> None:
    for _, epath, env in c.items(container, "env", f"{path}.env"):
        name = c.text(env, "name", f"{epath}.name")
        if not name:
            if not isinstance(env.get("name"), str | type(None)):
                continue
            c.add(required(f"{epath}.name"))
        else:
            for msg in env_var_name_errors(name):
                c.add(invalid(f"{epath}.name", name, msg))
        c.text(env, "value", f"{epath}.value")
        c.obj(env, "valueFrom", f"{epath}.valueFrom")


def _one_of(c: _Check, parent: dict[str, Any], key: str, path: str, supported: tuple[str, ...]) -> None:
    value = c.text(parent, key, f"{path}.{key}")
    if value is not None and value not in supported:
        if value == "":
            c.add(required(f"{path}.{key}"))
        else:
            c.add(not_supported(f"{path}.{key}", value, supported))


def _containers(c: _Check, spec: dict[str, Any], key: str, path: str, seen: set[str]) -> None:
    for _, cpath, container in c.items(spec, key, f"{path}.{key}"):
        name = c.text(container, "name", f"{cpath}.name")
        if not name:
            c.add(required(f"{cpath}.name"))
        else:
            for msg in dns1123_label_errors(name):
                c.add(invalid(f"{cpath}.name", name, msg))
            if name in seen:
                c.add(duplicate(f"{cpath}.name", name))
            seen.add(name)
        image = c.text(container, "image", f"{cpath}.image")
        if not image:
            if isinstance(container.get("image"), str | type(None)):
                c.add(required(f"{cpath}.image"))
        elif image != image.strip():
            c.add(invalid(f"{cpath}.image", image, "must not have leading or trailing whitespace"))
        for list_key in ("command", "args"):
            for i, item in enumerate(c.arr(container, list_key, f"{cpath}.{list_key}") or []):
                if not isinstance(item, str):
                    c.add(type_invalid(f"{cpath}.{list_key}[{i}]", item, "string"))
        _container_ports(c, container, cpath)
        _env(c, container, cpath)
        _resources(c, container, cpath)
        _one_of(c, container, "imagePullPolicy", cpath, ("Always", "IfNotPresent", "Never"))
        _one_of(c, container, "terminationMessagePolicy", cpath, ("File", "FallbackToLogsOnError"))
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            c.obj(container, probe, f"{cpath}.{probe}")


def _pod_spec(c: _Check, spec: dict[str, Any], path: str) -> None:
    containers = c.arr(spec, "containers", f"{path}.containers")
    if (not containers and spec.get("containers") is None) or containers == []:
        c.add(required(f"{path}.containers"))
    seen: set[str] = set()
    _containers(c, spec, "containers", path, seen)
    _containers(c, spec, "initContainers", path, seen)
    _one_of(c, spec, "restartPolicy", path, ("Always", "OnFailure", "Never"))
    _one_of(c, spec, "dnsPolicy", path, ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"))
    for key in ("terminationGracePeriodSeconds", "activeDeadlineSeconds"):
        c.integer(spec, key, f"{path}.{key}")
    deadline = spec.get("activeDeadlineSeconds")
    if isinstance(deadline, int) and not isinstance(deadline, bool) and deadline <= 0:
        c.add(invalid(f"{path}.activeDeadlineSeconds", deadline, "must be greater than 0"))
    c.text(spec, "nodeName", f"{path}.nodeName")
    c.text(spec, "serviceAccountName", f"{path}.serviceAccountName")
    _labels(c, c.string_map(spec, "nodeSelector", f"{path}.nodeSelector"), f"{path}.nodeSelector")


def _pod(c: _Check, obj: dict[str, Any]) -> None:
    spec = c.obj(obj, "spec", "spec")
    _pod_spec(c, spec if spec is not None else {}, "spec")


# --- apps/v1 -----------------------------------------------------------------------------------------------


def _selector(c: _Check, spec: dict[str, Any], path: str, *, empty_message: str) -> Any:
    """The parsed selector (or None) after the checks every controller spec shares."""
    if spec.get("selector") is None:
        c.add(required(f"{path}.selector"))
        return None
    raw = c.obj(spec, "selector", f"{path}.selector")
    if raw is None:
        return None
    try:
        selector = label_selector_from_spec(raw)
    except SelectorError as exc:
        c.add(invalid(f"{path}.selector", raw, exc.message))
        return None
    if selector.empty():
        literal = _label_selector_literal(raw)
        c.add(FieldError(INVALID, f"{path}.selector", f"Invalid value: {literal}: {empty_message}"))
        return None
    return selector


def _template_for_replicas(c: _Check, spec: dict[str, Any], path: str, selector: Any) -> None:
    tpath = f"{path}.template"
    template = c.obj(spec, "template", tpath)
    if template is None:
        if spec.get("template") is None:
            c.add(required(tpath))
        return
    meta = c.obj(template, "metadata", f"{tpath}.metadata") or {}
    labels = c.string_map(meta, "labels", f"{tpath}.metadata.labels")
    if selector is not None and not selector.matches(labels):
        c.add(invalid(f"{tpath}.metadata.labels", labels, "`selector` does not match template `labels`"))
    # ValidatePodTemplateSpec reports label and annotation syntax one level up (`spec.template.labels`).
    _labels(c, labels, f"{tpath}.labels")
    _annotations(
        c, c.string_map(meta, "annotations", f"{tpath}.metadata.annotations"), f"{tpath}.annotations"
    )
    pod_spec = c.obj(template, "spec", f"{tpath}.spec")
    pod_spec = pod_spec if pod_spec is not None else {}
    _pod_spec(c, pod_spec, f"{tpath}.spec")
    restart = pod_spec.get("restartPolicy")
    if isinstance(restart, str) and restart in ("OnFailure", "Never"):
        c.add(not_supported(f"{tpath}.spec.restartPolicy", restart, ("Always",)))
    if pod_spec.get("activeDeadlineSeconds") is not None:
        c.add(
            invalid(
                f"{tpath}.spec.activeDeadlineSeconds",
                pod_spec.get("activeDeadlineSeconds"),
                "activeDeadlineSeconds in ReplicaSet is not Supported",
            )
        )


def _non_negative(c: _Check, spec: dict[str, Any], key: str, path: str) -> int | None:
    value = c.integer(spec, key, f"{path}.{key}")
    if value is not None and value < 0:
        c.add(invalid(f"{path}.{key}", value, NON_NEGATIVE))
    return value


def _int_or_percent(c: _Check, parent: dict[str, Any], key: str, path: str) -> Fraction | None:
    """ValidatePositiveIntOrPercent and IsNotMoreThan100Percent; the value as a number or a fraction of 1."""
    value = parent.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            c.add(invalid(path, value, NON_NEGATIVE))
        return Fraction(value)
    if isinstance(value, str):
        if not _matches(_PERCENT_FMT, value):
            c.add(
                invalid(
                    path,
                    value,
                    _regex_error(
                        "a valid percent string must be a numeric string followed by an ending '%'",
                        _PERCENT_FMT,
                        "1%",
                        "93%",
                    ),
                )
            )
            return None
        return Fraction(int(value[:-1]))
    c.add(invalid(path, value, "must be an integer or percentage (e.g '5%')"))
    return None


def _strategy(c: _Check, spec: dict[str, Any], path: str) -> None:
    spath = f"{path}.strategy"
    strategy = c.obj(spec, "strategy", spath)
    if strategy is None:
        return
    kind = c.text(strategy, "type", f"{spath}.type")
    if kind == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            c.add(
                forbidden(f"{spath}.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")
            )
    elif kind == "RollingUpdate" or kind is None:
        rolling = c.obj(strategy, "rollingUpdate", f"{spath}.rollingUpdate")
        if rolling is None:
            return
        rpath = f"{spath}.rollingUpdate"
        unavailable = _int_or_percent(c, rolling, "maxUnavailable", f"{rpath}.maxUnavailable")
        surge = _int_or_percent(c, rolling, "maxSurge", f"{rpath}.maxSurge")
        if unavailable == 0 and surge == 0:
            c.add(
                invalid(
                    f"{rpath}.maxUnavailable",
                    rolling.get("maxUnavailable"),
                    "may not be 0 when `maxSurge` is 0",
                )
            )
        mu = rolling.get("maxUnavailable")
        if isinstance(mu, str) and unavailable is not None and unavailable > 100:
            c.add(invalid(f"{rpath}.maxUnavailable", mu, "must not be greater than 100%"))
    else:
        c.add(not_supported(f"{spath}.type", kind, ("Recreate", "RollingUpdate")))


def _deployment(c: _Check, obj: dict[str, Any]) -> None:
    spec = c.obj(obj, "spec", "spec")
    if spec is None:
        c.add(required("spec.selector"))
        c.add(required("spec.template"))
        return
    _non_negative(c, spec, "replicas", "spec")
    selector = _selector(c, spec, "spec", empty_message="empty selector is invalid for deployment")
    _template_for_replicas(c, spec, "spec", selector)
    _strategy(c, spec, "spec")
    min_ready = _non_negative(c, spec, "minReadySeconds", "spec")
    _non_negative(c, spec, "revisionHistoryLimit", "spec")
    deadline = _non_negative(c, spec, "progressDeadlineSeconds", "spec")
    if deadline is not None and min_ready is not None and deadline <= min_ready:
        c.add(invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"))
    c.boolean(spec, "paused", "spec.paused")


def _replicaset(c: _Check, obj: dict[str, Any]) -> None:
    spec = c.obj(obj, "spec", "spec")
    if spec is None:
        c.add(required("spec.selector"))
        c.add(required("spec.template"))
        return
    _non_negative(c, spec, "replicas", "spec")
    _non_negative(c, spec, "minReadySeconds", "spec")
    selector = _selector(c, spec, "spec", empty_message="empty selector is invalid for deployment")
    _template_for_replicas(c, spec, "spec", selector)


# --- core/v1 others ----------------------------------------------------------------------------------------

_SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
_NODE_PORT_RANGE = (30000, 32767)


def _service_port_literal(protocol: Any, port: Any) -> str:
    # field.Duplicate prints the core.ServicePort key it found twice with %#v.
    return (
        f'core.ServicePort{{Name:"", Protocol:{go_value(protocol)}, AppProtocol:(*string)(nil), '
        f'Port:{port}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:""}}, NodePort:0}}'
    )


def _service(c: _Check, obj: dict[str, Any]) -> None:
    spec = c.obj(obj, "spec", "spec")
    if spec is None:
        spec = {}
    svc_type = c.text(spec, "type", "spec.type")
    if svc_type is not None and svc_type not in _SERVICE_TYPES:
        c.add(not_supported("spec.type", svc_type, _SERVICE_TYPES))
    cluster_ip = c.text(spec, "clusterIP", "spec.clusterIP")
    cluster_ips = c.arr(spec, "clusterIPs", "spec.clusterIPs") or []
    headless = cluster_ip == "None" or (cluster_ips[:1] == ["None"])
    ports = c.items(spec, "ports", "spec.ports")
    if not spec.get("ports") and not headless and svc_type != "ExternalName":
        c.add(required("spec.ports"))
    if svc_type == "ExternalName":
        external = c.text(spec, "externalName", "spec.externalName")
        if not external:
            c.add(required("spec.externalName"))
        else:
            for msg in dns1123_subdomain_errors(external.rstrip(".")):
                c.add(invalid("spec.externalName", external, msg))
    names: set[str] = set()
    keys: set[tuple[Any, Any]] = set()
    for _, ppath, port in ports:
        name = c.text(port, "name", f"{ppath}.name")
        if not name:
            if len(ports) > 1:
                c.add(required(f"{ppath}.name"))
        else:
            for msg in dns1123_label_errors(name):
                c.add(invalid(f"{ppath}.name", name, msg))
            if name in names:
                c.add(duplicate(f"{ppath}.name", name))
            names.add(name)
        number = c.integer(port, "port", f"{ppath}.port")
        if number is None and port.get("port") is None:
            number = 0
        if number is not None and not 1 <= number <= 65535:
            c.add(invalid(f"{ppath}.port", number, PORT_RANGE))
        protocol = c.text(port, "protocol", f"{ppath}.protocol")
        if protocol == "":
            c.add(required(f"{ppath}.protocol"))
        elif protocol is not None and protocol not in _PROTOCOLS:
            c.add(not_supported(f"{ppath}.protocol", protocol, _PROTOCOLS))
        target = port.get("targetPort")
        if isinstance(target, int) and not isinstance(target, bool):
            if not 1 <= target <= 65535:
                c.add(invalid(f"{ppath}.targetPort", target, PORT_RANGE))
        elif isinstance(target, str):
            for msg in port_name_errors(target):
                c.add(invalid(f"{ppath}.targetPort", target, msg))
        elif target is not None:
            c.add(type_invalid(f"{ppath}.targetPort", target, "integer or string"))
        node_port = c.integer(port, "nodePort", f"{ppath}.nodePort")
        if node_port:
            if svc_type in (None, "ClusterIP"):
                c.add(forbidden(f"{ppath}.nodePort", "may not be used when `type` is 'ClusterIP'"))
            elif not _NODE_PORT_RANGE[0] <= node_port <= _NODE_PORT_RANGE[1]:
                c.add(
                    invalid(
                        f"{ppath}.nodePort",
                        node_port,
                        "provided port is not in the valid range. The range of valid ports is 30000-32767",
                    )
                )
        key = (port.get("protocol"), port.get("port"))
        if isinstance(key[1], int) and key in keys:
            c.add(FieldError(DUPLICATE, ppath, "Duplicate value: " + _service_port_literal(*key)))
        keys.add(key)
    if cluster_ips:
        for i, ip in enumerate(cluster_ips):
            ipath = f"spec.clusterIPs[{i}]"
            if not isinstance(ip, str):
                c.add(type_invalid(ipath, ip, "string"))
            elif ip != "None" and not _is_ip(ip):
                c.add(invalid(ipath, ip, IP_MESSAGE))
    elif cluster_ip and cluster_ip != "None" and not _is_ip(cluster_ip):
        c.add(invalid("spec.clusterIP", cluster_ip, IP_MESSAGE))
    if headless and svc_type in ("LoadBalancer", "NodePort"):
        field = "spec.clusterIPs[0]" if cluster_ips else "spec.clusterIP"
        c.add(invalid(field, "None", f"may not be set to 'None' for {svc_type} services"))
    _one_of(c, spec, "sessionAffinity", "spec", ("ClientIP", "None"))
    _one_of(c, spec, "externalTrafficPolicy", "spec", ("Cluster", "Local"))
    _one_of(c, spec, "internalTrafficPolicy", "spec", ("Cluster", "Local"))
    for i, ip in enumerate(c.arr(spec, "externalIPs", "spec.externalIPs") or []):
        if not isinstance(ip, str) or not _is_ip(ip):
            c.add(invalid(f"spec.externalIPs[{i}]", ip, IP_MESSAGE))
    _labels(c, c.string_map(spec, "selector", "spec.selector"), "spec.selector")


def _endpoints(c: _Check, obj: dict[str, Any]) -> None:
    for _, spath, subset in c.items(obj, "subsets", "subsets"):
        for key in ("addresses", "notReadyAddresses"):
            for _, apath, addr in c.items(subset, key, f"{spath}.{key}"):
                ip = c.text(addr, "ip", f"{apath}.ip")
                if ip is not None and not _is_ip(ip):
                    c.add(invalid(f"{apath}.ip", ip, IP_MESSAGE))
        for _, ppath, port in c.items(subset, "ports", f"{spath}.ports"):
            number = c.integer(port, "port", f"{ppath}.port")
            if number is not None and not 1 <= number <= 65535:
                c.add(invalid(f"{ppath}.port", number, PORT_RANGE))
            protocol = c.text(port, "protocol", f"{ppath}.protocol")
            if protocol is not None and protocol not in _PROTOCOLS:
                c.add(not_supported(f"{ppath}.protocol", protocol, _PROTOCOLS))


_MAX_DATA_SIZE = 1024 * 1024


def _data_keys(c: _Check, obj: dict[str, Any], kind: str) -> None:
    data = c.string_map(obj, "data", "data")
    binary = c.string_map(obj, "binaryData", "binaryData") if kind == "ConfigMap" else {}
    total = 0
    for key, value in data.items():
        for msg in config_key_errors(key):
            c.add(invalid(f"data[{key}]", key, msg))
        if key in binary:
            c.add(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
        total += len(value)
    for key, value in binary.items():
        for msg in config_key_errors(key):
            c.add(invalid(f"binaryData[{key}]", key, msg))
        if key in data:
            c.add(invalid(f"binaryData[{key}]", key, "duplicate of key present in data"))
        total += len(value)
    if kind == "Secret":
        for key in c.string_map(obj, "stringData", "stringData"):
            for msg in config_key_errors(key):
                c.add(invalid(f"stringData[{key}]", key, msg))
    if total > _MAX_DATA_SIZE:
        c.add(too_long("", _MAX_DATA_SIZE))
    c.boolean(obj, "immutable", "immutable")


def _configmap(c: _Check, obj: dict[str, Any]) -> None:
    _data_keys(c, obj, "ConfigMap")


def _secret(c: _Check, obj: dict[str, Any]) -> None:
    _data_keys(c, obj, "Secret")
    secret_type = c.text(obj, "type", "type")
    keys = set(c.string_map(obj, "data", "data")) | set(c.string_map(obj, "stringData", "stringData"))
    if secret_type == "kubernetes.io/tls":
        for key in ("tls.crt", "tls.key"):
            if key not in keys:
                c.add(required(f"data[{key}]"))
    elif secret_type == "kubernetes.io/dockerconfigjson" and ".dockerconfigjson" not in keys:
        c.add(required("data[.dockerconfigjson]"))
    elif secret_type == "kubernetes.io/basic-auth" and not keys & {"username", "password"}:
        c.add(required("data[username]"))


_STANDARD_QUOTA = frozenset(
    {
        "pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps",
        "persistentvolumeclaims", "services.nodeports", "services.loadbalancers", "cpu", "memory",
        "ephemeral-storage", "requests.cpu", "requests.memory", "requests.storage",
        "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage",
    }
)  # fmt: skip


def _is_standard_quota_name(name: str) -> bool:
    return name in _STANDARD_QUOTA or name.startswith(("hugepages-", "requests.hugepages-"))


def _resourcequota(c: _Check, obj: dict[str, Any]) -> None:
    spec = c.obj(obj, "spec", "spec") or {}
    for name, raw in (c.obj(spec, "hard", "spec.hard") or {}).items():
        path = f"spec.hard[{name}]"
        if "/" in name:
            for msg in qualified_name_errors(name):
                c.add(invalid(path, name, msg))
        elif not _is_standard_quota_name(name):
            c.add(invalid(path, name, "must be a standard resource for quota"))
        value = quantity_value(raw)
        if value is None:
            c.add(invalid(path, raw, QUANTITY_MESSAGE))
        elif value < 0:
            c.add(invalid(path, quantity_text(raw), NON_NEGATIVE))
    scopes = (
        "BestEffort",
        "CrossNamespacePodAffinity",
        "NotBestEffort",
        "NotTerminating",
        "PriorityClass",
        "Terminating",
    )
    for i, scope in enumerate(c.arr(spec, "scopes", "spec.scopes") or []):
        if scope not in scopes:
            c.add(not_supported(f"spec.scopes[{i}]", scope, scopes))


_LIMIT_TYPES = ("Container", "PersistentVolumeClaim", "Pod")


def _limitrange(c: _Check, obj: dict[str, Any]) -> None:
    spec = c.obj(obj, "spec", "spec") or {}
    for _, ipath, item in c.items(spec, "limits", "spec.limits"):
        kind = c.text(item, "type", f"{ipath}.type")
        if not kind:
            c.add(required(f"{ipath}.type"))
        elif kind not in _LIMIT_TYPES and "/" not in kind:
            c.add(not_supported(f"{ipath}.type", kind, _LIMIT_TYPES))
        values: dict[str, dict[str, Fraction]] = {}
        raw: dict[str, dict[str, Any]] = {}
        for key in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
            values[key] = {}
            raw[key] = c.obj(item, key, f"{ipath}.{key}") or {}
            for name, q in raw[key].items():
                value = quantity_value(q)
                if value is None:
                    c.add(invalid(f"{ipath}.{key}[{name}]", q, QUANTITY_MESSAGE))
                    continue
                if value < 0:
                    c.add(invalid(f"{ipath}.{key}[{name}]", quantity_text(q), NON_NEGATIVE))
                values[key][name] = value
        if kind == "Pod":
            for key in ("default", "defaultRequest"):
                if raw[key]:
                    c.add(forbidden(f"{ipath}.{key}", "may not be specified when `type` is 'Pod'"))
        names = set().union(*(set(v) for v in values.values()))

        def t(key: str, name: str, raw: dict[str, dict[str, Any]] = raw) -> str:
            return quantity_text(raw[key][name])

        for name in sorted(names):
            lo, hi = values["min"].get(name), values["max"].get(name)
            default, request = values["default"].get(name), values["defaultRequest"].get(name)
            ratio = values["maxLimitRequestRatio"].get(name)
            if lo is not None and hi is not None and lo > hi:
                c.add(
                    invalid(
                        f"{ipath}.min[{name}]",
                        t("min", name),
                        f"min value {t('min', name)} is greater than max value {t('max', name)}",
                    )
                )
            if request is not None and lo is not None and lo > request:
                c.add(
                    invalid(
                        f"{ipath}.defaultRequest[{name}]",
                        t("defaultRequest", name),
                        f"min value {t('min', name)} is greater than default request value {t('defaultRequest', name)}",
                    )
                )
            if request is not None and hi is not None and request > hi:
                c.add(
                    invalid(
                        f"{ipath}.defaultRequest[{name}]",
                        t("defaultRequest", name),
                        f"default request value {t('defaultRequest', name)} is greater than max value {t('max', name)}",
                    )
                )
            if request is not None and default is not None and request > default:
                c.add(
                    invalid(
                        f"{ipath}.defaultRequest[{name}]",
                        t("defaultRequest", name),
                        f"default request value {t('defaultRequest', name)} is greater than default limit value {t('default', name)}",
                    )
                )
            if default is not None and lo is not None and lo > default:
                c.add(
                    invalid(
                        f"{ipath}.default[{name}]",
                        t("min", name),
                        f"min value {t('min', name)} is greater than default value {t('default', name)}",
                    )
                )
            if default is not None and hi is not None and default > hi:
                c.add(
                    invalid(
                        f"{ipath}.default[{name}]",
                        t("max", name),
                        f"default value {t('default', name)} is greater than max value {t('max', name)}",
                    )
                )
            if ratio is not None and ratio < 1:
                c.add(
                    invalid(
                        f"{ipath}.maxLimitRequestRatio[{name}]",
                        t("maxLimitRequestRatio", name),
                        f"ratio {t('maxLimitRequestRatio', name)} is less than 1",
                    )
                )
            if ratio is not None and lo is not None and hi is not None and lo > 0 and ratio > hi / lo:
                c.add(invalid(f"{ipath}.maxLimitRequestRatio[{name}]", t("maxLimitRequestRatio", name), f"ratio {t('maxLimitRequestRatio', name)} is greater than max/min = {float(hi / lo):f}"))  # fmt: skip


_PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")


def _ingress_backend(c: _Check, backend: dict[str, Any], path: str) -> None:
    service = c.obj(backend, "service", f"{path}.service")
    resource = c.obj(backend, "resource", f"{path}.resource")
    if service is not None and resource is not None:
        c.add(invalid(path, "", "cannot set both resource and service backends"))
        return
    if resource is not None:
        return
    if service is None:
        c.add(invalid(path, "", "resource or service backend is required"))
        return
    name = c.text(service, "name", f"{path}.service.name")
    if not name:
        c.add(required(f"{path}.service.name"))
    else:
        for msg in dns1035_label_errors(name):
            c.add(invalid(f"{path}.service.name", name, msg))
    port = c.obj(service, "port", f"{path}.service.port") or {}
    port_name = c.text(port, "name", f"{path}.service.port.name")
    number = c.integer(port, "number", f"{path}.service.port.number")
    if port_name and number:
        c.add(invalid(path, "", "cannot set both port name & port number"))
    elif port_name:
        for msg in port_name_errors(port_name):
            c.add(invalid(f"{path}.service.port.name", port_name, msg))
    elif number:
        if not 1 <= number <= 65535:
            c.add(invalid(f"{path}.service.port.number", number, PORT_RANGE))
    else:
        c.add(required(path, "port name or number is required"))


def _ingress(c: _Check, obj: dict[str, Any]) -> None:
    spec = c.obj(obj, "spec", "spec") or {}
    c.text(spec, "ingressClassName", "spec.ingressClassName")
    default_backend = c.obj(spec, "defaultBackend", "spec.defaultBackend")
    rules = c.items(spec, "rules", "spec.rules")
    if not spec.get("rules") and default_backend is None:
        c.add(
            FieldError(
                INVALID,
                "spec",
                "Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified",
            )
        )
    if default_backend is not None:
        _ingress_backend(c, default_backend, "spec.defaultBackend")
    for _, rpath, rule in rules:
        host = c.text(rule, "host", f"{rpath}.host")
        if host:
            if _is_ip(host):
                c.add(invalid(f"{rpath}.host", host, "must be a DNS name, not an IP address"))
            bare = host[2:] if host.startswith("*.") else host
            for msg in dns1123_subdomain_errors(bare):
                c.add(invalid(f"{rpath}.host", host, msg))
        http = c.obj(rule, "http", f"{rpath}.http")
        if http is None:
            continue
        paths = c.items(http, "paths", f"{rpath}.http.paths")
        if not paths:
            c.add(required(f"{rpath}.http.paths"))
        for _, ppath, item in paths:
            path_type = c.text(item, "pathType", f"{ppath}.pathType")
            value = c.text(item, "path", f"{ppath}.path")
            if not path_type:
                c.add(required(f"{ppath}.pathType", "pathType must be specified"))
            elif path_type not in _PATH_TYPES:
                c.add(not_supported(f"{ppath}.pathType", path_type, _PATH_TYPES))
            if path_type in ("Exact", "Prefix") and not (value or "").startswith("/"):
                c.add(invalid(f"{ppath}.path", value or "", "must be an absolute path"))
            backend = c.obj(item, "backend", f"{ppath}.backend")
            if backend is None:
                c.add(required(f"{ppath}.backend"))
            else:
                _ingress_backend(c, backend, f"{ppath}.backend")


_VALIDATORS: dict[str, Callable[[_Check, dict[str, Any]], None]] = {
    "pods": _pod,
    "deployments": _deployment,
    "replicasets": _replicaset,
    "services": _service,
    "endpoints": _endpoints,
    "configmaps": _configmap,
    "secrets": _secret,
    "resourcequotas": _resourcequota,
    "limitranges": _limitrange,
    "ingresses": _ingress,
}


# --- updates ------------------------------------------------------------------------------------------------

_POD_UPDATABLE = (
    "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
    "`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)


def _get(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _immutable(c: _Check, new: Any, old: Any, path: str) -> None:
    if new != old:
        c.add(invalid(path, new, IMMUTABLE))


def _label_selector_literal(selector: Any) -> str:
    # ValidateImmutableField prints the *metav1.LabelSelector with %#v.
    if not isinstance(selector, dict):
        return go_value(selector)
    labels = selector.get("matchLabels")
    labels_text = go_value(labels) if isinstance(labels, dict) and labels else "map[string]string(nil)"
    exprs = selector.get("matchExpressions")
    if isinstance(exprs, list) and exprs:
        parts = []
        for e in exprs:
            e = e if isinstance(e, dict) else {}
            values = e.get("values")
            values_text = go_value(values) if isinstance(values, list) and values else "[]string(nil)"
            parts.append(
                f"v1.LabelSelectorRequirement{{Key:{go_value(e.get('key', ''))}, "
                f"Operator:{go_value(e.get('operator', ''))}, Values:{values_text}}}"
            )
        exprs_text = "[]v1.LabelSelectorRequirement{" + ", ".join(parts) + "}"
    else:
        exprs_text = "[]v1.LabelSelectorRequirement(nil)"
    return f"v1.LabelSelector{{MatchLabels:{labels_text}, MatchExpressions:{exprs_text}}}"


def _masked_pod_spec(spec: Any, old: Any) -> Any:
    """The new pod spec with every field a pod update may change copied from the old one."""
    if not isinstance(spec, dict) or not isinstance(old, dict):
        return spec
    masked = dict(spec)
    for key in ("containers", "initContainers"):
        new_list, old_list = spec.get(key), old.get(key)
        if isinstance(new_list, list) and isinstance(old_list, list) and len(new_list) == len(old_list):
            merged = []
            for n, o in zip(new_list, old_list, strict=True):
                if isinstance(n, dict) and isinstance(o, dict):
                    n = {**n, "image": o.get("image")}
                    if o.get("image") is None:
                        n.pop("image")
                merged.append(n)
            masked[key] = merged
    for key in ("activeDeadlineSeconds", "terminationGracePeriodSeconds"):
        if key in old:
            masked[key] = old[key]
        else:
            masked.pop(key, None)
    new_tol, old_tol = spec.get("tolerations") or [], old.get("tolerations") or []
    if isinstance(new_tol, list) and isinstance(old_tol, list) and all(t in new_tol for t in old_tol):
        if "tolerations" in old:
            masked["tolerations"] = old["tolerations"]
        else:
            masked.pop("tolerations", None)
    return masked


def _update(c: _Check, resource: str, obj: dict[str, Any], old: dict[str, Any]) -> None:
    for key in ("name", "namespace", "uid"):
        new_value, old_value = _get(obj, "metadata", key), _get(old, "metadata", key)
        if old_value is not None and new_value != old_value:
            c.add(invalid(f"metadata.{key}", new_value if new_value is not None else "", IMMUTABLE))
    if resource in ("deployments", "replicasets"):
        new_sel, old_sel = _get(obj, "spec", "selector"), _get(old, "spec", "selector")
        if old_sel is not None and new_sel != old_sel:
            c.add(
                FieldError(
                    INVALID,
                    "spec.selector",
                    f"Invalid value: {_label_selector_literal(new_sel)}: {IMMUTABLE}",
                )
            )
    elif resource == "services":
        new_ip, old_ip = _get(obj, "spec", "clusterIP"), _get(old, "spec", "clusterIP")
        # An update without a clusterIP keeps the allocated one (the server copies it over).
        if old_ip and new_ip and new_ip != old_ip and _get(old, "spec", "type") != "ExternalName":
            _immutable(c, new_ip, old_ip, "spec.clusterIP")
    elif resource == "pods":
        spec, old_spec = _get(obj, "spec"), _get(old, "spec")
        if _masked_pod_spec(spec, old_spec) != old_spec:
            c.add(forbidden("spec", f"pod updates may not change fields other than {_POD_UPDATABLE}"))
    elif resource in ("secrets", "configmaps"):
        if old.get("immutable") is True:
            for key in ("data", "binaryData"):
                if obj.get(key) != old.get(key):
                    c.add(forbidden(key, "field is immutable when `immutable` is set"))
            if obj.get("immutable") is not True:
                c.add(forbidden("immutable", "field is immutable when `immutable` is set"))
        if resource == "secrets" and obj.get("type") != old.get("type"):
            _immutable(c, obj.get("type"), old.get("type"), "type")


def validate(resource: str, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[FieldError]:
    """Validate `obj` of `resource` (a plural name); with `old`, also the rules for an update."""
    c = _Check()
    if not isinstance(obj, dict):
        return [type_invalid("", obj, "object")]
    try:
        _metadata(c, resource, obj)
        validator = _VALIDATORS.get(resource)
        if validator is not None:
            validator(c, obj)
        if isinstance(old, dict):
            _update(c, resource, obj, old)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, RecursionError) as exc:
        # A shape no check above anticipated: reject rather than store it.
        c.add(FieldError(INVALID, "", f"Invalid value: {go_quote(type(exc).__name__)}: malformed object"))
    return c.errors
