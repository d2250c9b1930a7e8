"""Server-side printing: `meta.k8s.io/v1` Tables with the column sets of Kubernetes' printers.

Mirrors pkg/printers/internalversion/printers.go (rendered with `Wide: true`, as the API server
does, so wide-only columns carry `priority: 1` and every row has every cell) and
apimachinery's duration.HumanDuration. Nothing here raises on a malformed object: a cell that
cannot be read prints `<unknown>` or `<none>` the way kubectl would show a missing value.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from quantities import QuantityError, parse_quantity
from sandbox.apiserver.selectors import SelectorError, label_selector_from_spec

_NAME_DOC = (
    "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name automatically. "
    "Name is primarily intended for creation idempotence and configuration definition. Cannot be "
    "updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
_CREATED_DOC = (
    "CreationTimestamp is a timestamp representing the server time when this object was created. "
    "It is not guaranteed to be set in happens-before order across separate operations. Clients may "
    "not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. "
    "Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
_CONTAINERS_DOC = "Names of each container in the template."
_IMAGES_DOC = "Images referenced by each container in the template."
_SELECTOR_DOC = (
    "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones "
    "affected by this deployment. It must match the pod template's labels."
)

Row = list[Any]


def _col(name: str, typ: str, description: str, *, priority: int = 0, fmt: str = "") -> dict[str, Any]:
    return {"name": name, "type": typ, "format": fmt, "description": description, "priority": priority}


_NAME = _col("Name", "string", _NAME_DOC, fmt="name")
_AGE = _col("Age", "string", _CREATED_DOC)

_COLUMNS: dict[str, list[dict[str, Any]]] = {
    "pods": [
        _NAME,
        _col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
        _col("Status", "string", "The aggregate status of the containers in this pod."),
        _col(
            "Restarts",
            "string",
            "The number of times the containers in this pod have been restarted and when the last "
            "container in this pod has restarted.",
        ),
        _AGE,
        _col(
            "IP",
            "string",
            "IP address allocated to the pod. Routable at least within the cluster.",
            priority=1,
        ),
        _col("Node", "string", "NodeName indicates in which node this pod is scheduled.", priority=1),
        _col(
            "Nominated Node",
            "string",
            "nominatedNodeName is set only when this pod preempts other pods on the node.",
            priority=1,
        ),
        _col("Readiness Gates", "string", "If specified, all readiness gates will be evaluated.", priority=1),
    ],
    "deployments": [
        _NAME,
        _col("Ready", "string", "Number of the pod with ready state"),
        _col(
            "Up-to-date",
            "string",
            "Total number of non-terminated pods targeted by this deployment that have the desired "
            "template spec.",
        ),
        _col(
            "Available",
            "string",
            "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
        ),
        _AGE,
        _col("Containers", "string", _CONTAINERS_DOC, priority=1),
        _col("Images", "string", _IMAGES_DOC, priority=1),
        _col("Selector", "string", _SELECTOR_DOC, priority=1),
    ],
    "replicasets": [
        _NAME,
        _col("Desired", "integer", "Replicas is the number of desired replicas."),
        _col("Current", "integer", "Replicas is the most recently observed number of replicas."),
        _col("Ready", "integer", "The number of ready replicas for this replica set."),
        _AGE,
        _col("Containers", "string", _CONTAINERS_DOC, priority=1),
        _col("Images", "string", _IMAGES_DOC, priority=1),
        _col(
            "Selector",
            "string",
            "Selector is a label query over pods that should match the replica count.",
            priority=1,
        ),
    ],
    "services": [
        _NAME,
        _col("Type", "string", "type determines how the Service is exposed."),
        _col(
            "Cluster-IP",
            "string",
            "clusterIP is the IP address of the service and is usually assigned randomly.",
        ),
        _col(
            "External-IP",
            "string",
            "externalIPs is a list of IP addresses for which nodes in the cluster will also accept "
            "traffic for this service.",
        ),
        _col("Port(s)", "string", "The list of ports that are exposed by this service."),
        _AGE,
        _col(
            "Selector",
            "string",
            "Route service traffic to pods with label keys and values matching this selector.",
            priority=1,
        ),
    ],
    "endpoints": [
        _NAME,
        _col(
            "Endpoints",
            "string",
            "The set of all endpoints is the union of all subsets. Addresses are placed into subsets "
            "according to the IPs they share.",
        ),
        _AGE,
    ],
    "namespaces": [_NAME, _col("Status", "string", "The status of the namespace"), _AGE],
    "endpointslices": [
        _NAME,
        _col(
            "AddressType",
            "string",
            "addressType specifies the type of address carried by this EndpointSlice. All addresses in "
            "this slice must be the same type. This field is immutable after creation.",
        ),
        _col(
            "Ports",
            "string",
            "ports specifies the list of network ports exposed by each endpoint in this slice. Each port "
            'must have a unique name. When a port is defined with a nil port value, it indicates "all ports".',
        ),
        _col(
            "Endpoints",
            "string",
            "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of "
            "1000 endpoints.",
        ),
        _AGE,
    ],
    "configmaps": [
        _NAME,
        _col("Data", "string", "Data contains the configuration data."),
        _AGE,
    ],
    "secrets": [
        _NAME,
        _col("Type", "string", "Used to facilitate programmatic handling of secret data."),
        _col("Data", "string", "Data contains the secret data."),
        _AGE,
    ],
    "events": [
        _col(
            "Last Seen", "string", "The time at which the most recent occurrence of this event was recorded."
        ),
        _col(
            "Type", "string", "Type of this event (Normal, Warning), new types could be added in the future"
        ),
        _col(
            "Reason",
            "string",
            "This should be a short, machine understandable string that gives the reason for the "
            "transition into the object's current status.",
        ),
        _col("Object", "string", "The object that this event is about."),
        _col(
            "Subobject",
            "string",
            "If referring to a piece of an object instead of an entire object, this string should "
            "contain a valid JSON/Go field access statement.",
            priority=1,
        ),
        _col("Source", "string", "The component reporting this event.", priority=1),
        _col("Message", "string", "A human-readable description of the status of this operation."),
        _col(
            "First Seen",
            "string",
            "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
            priority=1,
        ),
        _col("Count", "string", "The number of times this event has occurred.", priority=1),
        _col("Name", "string", _NAME_DOC, priority=1, fmt="name"),
    ],
    "nodes": [
        _NAME,
        _col("Status", "string", "The status of the node"),
        _col("Roles", "string", "The roles of the node"),
        _AGE,
        _col("Version", "string", "Kubelet Version reported by the node."),
        _col("Internal-IP", "string", "List of addresses reachable to the node.", priority=1),
        _col("External-IP", "string", "List of addresses reachable to the node.", priority=1),
        _col("OS-Image", "string", "OS Image reported by the node from /etc/os-release.", priority=1),
        _col("Kernel-Version", "string", "Kernel Version reported by the node.", priority=1),
        _col("Container-Runtime", "string", "ContainerRuntime Version reported by the node.", priority=1),
    ],
    "resourcequotas": [
        _NAME,
        _AGE,
        _col(
            "Request",
            "string",
            "Request represents a minimum amount of cpu/memory that a container may consume.",
        ),
        _col(
            "Limit",
            "string",
            "Limits control the maximum amount of cpu/memory that a container may use independent "
            "of contention on the node.",
        ),
    ],
    "ingresses": [
        _NAME,
        _col(
            "Class",
            "string",
            "The name of the IngressClass resource that should be used for additional configuration",
        ),
        _col("Hosts", "string", "Hosts that incoming requests are matched against before the ingress rule"),
        _col("Address", "string", "Address is a list containing ingress points for the load-balancer"),
        _col("Ports", "string", "Ports of TLS configurations that open"),
        _AGE,
    ],
}

# rest.NewDefaultTableConvertor, also what Kubernetes prints for LimitRanges.
_GENERIC_COLUMNS = [_NAME, _col("Created At", "date", _CREATED_DOC)]

_POD_SUCCEEDED = [
    {
        "type": "Completed",
        "status": "True",
        "reason": "Succeeded",
        "message": "The pod has completed successfully.",
    }
]
_POD_FAILED = [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]


# --- reading a possibly malformed object without raising ---------------------------------------------


def _get(obj: Any, *keys: str | int) -> Any:
    """Walk dicts and lists; None as soon as a step does not fit."""
    cur = obj
    for key in keys:
        if isinstance(key, int):
            if not isinstance(cur, list) or not -len(cur) <= key < len(cur):
                return None
            cur = cur[key]
        else:
            if not isinstance(cur, dict):
                return None
            cur = cur.get(key)
    return cur


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


# --- ages ----------------------------------------------------------------------------------------------


def human_duration(seconds_total: float) -> str:
    """apimachinery duration.HumanDuration."""
    seconds = int(seconds_total)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def format_age(created: Any, now: datetime | None = None) -> str:
    """translateTimestampSince: `<unknown>` for a zero (missing or unreadable) time."""
    when = _parse_time(created)
    if when is None:
        return "<unknown>"
    current = now or datetime.now(UTC)
    if current.tzinfo is None:
        current = current.replace(tzinfo=UTC)
    return human_duration((current - when).total_seconds())


# --- per-resource rows -----------------------------------------------------------------------------------


def _pod_row(pod: dict[str, Any], now: datetime | None) -> tuple[Row, list[dict[str, str]] | None]:
    spec, status = _dict(pod.get("spec")), _dict(pod.get("status"))
    phase = _str(status.get("phase"))
    reason = _str(status.get("reason")) or phase
    for cond in _list(status.get("conditions")):
        if _get(cond, "type") == "PodScheduled" and _get(cond, "reason") == "SchedulingGated":
            reason = "SchedulingGated"
    conditions = _POD_SUCCEEDED if phase == "Succeeded" else _POD_FAILED if phase == "Failed" else None

    init_specs = [c for c in _list(spec.get("initContainers")) if isinstance(c, dict)]
    # Sidecars (init containers with restartPolicy Always) count as containers.
    sidecars = {_str(c.get("name")) for c in init_specs if c.get("restartPolicy") == "Always"}
    total = len(_list(spec.get("containers"))) + len(sidecars)
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    last_restart: datetime | None = None
    last_sidecar_restart: datetime | None = None

    def finished(cs: dict[str, Any]) -> datetime | None:
        return _parse_time(_get(cs, "lastState", "terminated", "finishedAt"))

    initializing = False
    for i, cs in enumerate(_list(status.get("initContainerStatuses"))):
        cs = _dict(cs)
        count = _int(cs.get("restartCount"))
        restarts += count
        done = finished(cs)
        if done and (last_restart is None or done > last_restart):
            last_restart = done
        is_sidecar = _str(cs.get("name")) in sidecars
        if is_sidecar:
            sidecar_restarts += count
            if done and (last_sidecar_restart is None or done > last_sidecar_restart):
                last_sidecar_restart = done
        terminated = _get(cs, "state", "terminated")
        waiting_reason = _str(_get(cs, "state", "waiting", "reason"))
        if isinstance(terminated, dict) and _int(terminated.get("exitCode")) == 0:
            continue
        if is_sidecar and cs.get("started") is True:
            if cs.get("ready") is True:
                ready += 1
            continue
        if isinstance(terminated, dict):
            if not _str(terminated.get("reason")):
                signal = _int(terminated.get("signal"))
                reason = (
                    f"Init:Signal:{signal}" if signal else f"Init:ExitCode:{_int(terminated.get('exitCode'))}"
                )
            else:
                reason = "Init:" + _str(terminated.get("reason"))
        elif waiting_reason and waiting_reason != "PodInitializing":
            reason = "Init:" + waiting_reason
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    initialized = any(
        _get(c, "type") == "Initialized" and _get(c, "status") == "True"
        for c in _list(status.get("conditions"))
    )
    if not initializing or initialized:
        restarts = sidecar_restarts
        last_restart = last_sidecar_restart
        has_running = False
        for cs in reversed(_list(status.get("containerStatuses"))):
            cs = _dict(cs)
            restarts += _int(cs.get("restartCount"))
            done = finished(cs)
            if done and (last_restart is None or done > last_restart):
                last_restart = done
            waiting_reason = _str(_get(cs, "state", "waiting", "reason"))
            terminated = _get(cs, "state", "terminated")
            if waiting_reason:
                reason = waiting_reason
            elif isinstance(terminated, dict) and _str(terminated.get("reason")):
                reason = _str(terminated.get("reason"))
            elif isinstance(terminated, dict):
                signal = _int(terminated.get("signal"))
                reason = f"Signal:{signal}" if signal else f"ExitCode:{_int(terminated.get('exitCode'))}"
            elif cs.get("ready") is True and isinstance(_get(cs, "state", "running"), dict):
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            pod_ready = any(
                _get(c, "type") == "Ready" and _get(c, "status") == "True"
                for c in _list(status.get("conditions"))
            )
            reason = "Running" if pod_ready else "NotReady"

    deleting = _get(pod, "metadata", "deletionTimestamp") is not None
    if deleting and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_cell = str(restarts)
    if restarts and last_restart is not None:
        restarts_cell = f"{restarts} ({format_age(last_restart.isoformat(), now)} ago)"

    pod_ip = _str(_get(status, "podIPs", 0, "ip")) or _str(status.get("podIP")) or "<none>"
    node = _str(spec.get("nodeName")) or "<none>"
    nominated = _str(status.get("nominatedNodeName")) or "<none>"
    gates = _list(spec.get("readinessGates"))
    gates_cell = "<none>"
    if gates:
        true_count = 0
        for gate in gates:
            for cond in _list(status.get("conditions")):
                if _get(cond, "type") == _get(gate, "conditionType"):
                    true_count += _get(cond, "status") == "True"
                    break
        gates_cell = f"{true_count}/{len(gates)}"
    cells = [
        _name(pod),
        f"{ready}/{total}",
        reason,
        restarts_cell,
        format_age(_get(pod, "metadata", "creationTimestamp"), now),
        pod_ip,
        node,
        nominated,
        gates_cell,
    ]
    return cells, conditions


def _name(obj: dict[str, Any]) -> str:
    return _str(_get(obj, "metadata", "name"))


def _selector_string(spec: Any) -> str:
    # metav1.LabelSelectorAsSelector(...).String(); an unparseable selector prints `<invalid>`.
    try:
        return str(label_selector_from_spec(spec))
    except (SelectorError, TypeError, ValueError):
        return "<invalid>"


def _container_cells(template: Any) -> tuple[str, str]:
    containers = [c for c in _list(_get(template, "spec", "containers")) if isinstance(c, dict)]
    names = ",".join(_str(c.get("name")) for c in containers)
    images = ",".join(_str(c.get("image")) for c in containers)
    return names, images


def _deployment_row(obj: dict[str, Any], now: datetime | None) -> Row:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    names, images = _container_cells(spec.get("template"))
    return [
        _name(obj),
        f"{_int(status.get('readyReplicas'))}/{_int(spec.get('replicas'))}",
        _int(status.get("updatedReplicas")),
        _int(status.get("availableReplicas")),
        format_age(_get(obj, "metadata", "creationTimestamp"), now),
        names,
        images,
        _selector_string(spec.get("selector")),
    ]


def _replicaset_row(obj: dict[str, Any], now: datetime | None) -> Row:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    names, images = _container_cells(spec.get("template"))
    return [
        _name(obj),
        _int(spec.get("replicas")),
        _int(status.get("replicas")),
        _int(status.get("readyReplicas")),
        format_age(_get(obj, "metadata", "creationTimestamp"), now),
        names,
        images,
        _selector_string(spec.get("selector")),
    ]


def _load_balancer_ingress(status: Any) -> str:
    out = []
    for ingress in _list(_get(status, "loadBalancer", "ingress")):
        ip = _str(_get(ingress, "ip"))
        host = _str(_get(ingress, "hostname"))
        if ip:
            out.append(ip)
        elif host:
            out.append(host)
    return ",".join(out)


def _service_external_ip(svc: dict[str, Any]) -> str:
    spec = _dict(svc.get("spec"))
    svc_type = spec.get("type")
    external = [ip for ip in _list(spec.get("externalIPs")) if isinstance(ip, str)]
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if svc_type == "LoadBalancer":
        lb = _load_balancer_ingress(svc.get("status"))
        if external:
            return ",".join([*(lb.split(",") if lb else []), *external])
        return lb or "<pending>"
    if svc_type == "ExternalName":
        return _str(spec.get("externalName"))
    return "<unknown>"


def _service_row(svc: dict[str, Any], now: datetime | None) -> Row:
    spec = _dict(svc.get("spec"))
    cluster_ip = _str(_get(spec, "clusterIPs", 0)) or _str(spec.get("clusterIP")) or "<none>"
    pieces = []
    for port in _list(spec.get("ports")):
        port = _dict(port)
        protocol = _str(port.get("protocol"))
        node_port = _int(port.get("nodePort"))
        if node_port > 0:
            pieces.append(f"{_int(port.get('port'))}:{node_port}/{protocol}")
        else:
            pieces.append(f"{_int(port.get('port'))}/{protocol}")
    selector = _dict(spec.get("selector"))
    selector_cell = ",".join(f"{k}={v}" for k, v in sorted(selector.items(), key=lambda kv: str(kv[0])))
    return [
        _name(svc),
        _str(spec.get("type")),
        cluster_ip,
        _service_external_ip(svc),
        ",".join(pieces) or "<none>",
        format_age(_get(svc, "metadata", "creationTimestamp"), now),
        selector_cell or "<none>",
    ]


def _join_host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def format_endpoints(endpoints: dict[str, Any]) -> str:
    """formatEndpoints with no port filter: up to three `ip:port`, then ` + N more...`."""
    subsets = _list(endpoints.get("subsets"))
    if not subsets:
        return "<none>"
    shown: list[str] = []
    most = 3
    more = False
    count = 0
    for subset in subsets:
        addresses = _list(_get(subset, "addresses"))
        ports = _list(_get(subset, "ports"))
        if not ports:
            # Headless services may have no ports.
            count += len(addresses)
            for addr in addresses:
                if len(shown) == most:
                    more = True
                    break
                shown.append(_str(_get(addr, "ip")))
            continue
        for port in ports:
            count += len(addresses)
            for addr in addresses:
                if len(shown) == most:
                    more = True
                    break
                shown.append(_join_host_port(_str(_get(addr, "ip")), _int(_get(port, "port"))))
    joined = ",".join(shown)
    return f"{joined} + {count - most} more..." if more else joined


def _endpoints_row(obj: dict[str, Any], now: datetime | None) -> Row:
    return [_name(obj), format_endpoints(obj), format_age(_get(obj, "metadata", "creationTimestamp"), now)]


def _list_with_more(items: list[str], most: int = 3) -> str:
    """listWithMoreString: the first three, ` + N more...` after them, `<unset>` for none."""
    if len(items) > most:
        return f"{','.join(items[:most])} + {len(items) - most} more..."
    return ",".join(items) or "<unset>"


def _endpointslice_row(obj: dict[str, Any], now: datetime | None) -> Row:
    """printEndpointSlice: formatDiscoveryPorts (port, else name, else `*`) and every endpoint address."""
    ports = []
    for port in _list(obj.get("ports")):
        number, name = _get(port, "port"), _get(port, "name")
        if isinstance(number, int) and not isinstance(number, bool):
            ports.append(str(number))
        elif isinstance(name, str):
            ports.append(name)
        else:
            ports.append("*")
    addresses = [
        address
        for endpoint in _list(obj.get("endpoints"))
        for address in _list(_get(endpoint, "addresses"))
        if isinstance(address, str)
    ]
    return [
        _name(obj),
        _str(obj.get("addressType")),
        _list_with_more(ports),
        _list_with_more(addresses),
        format_age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


def _namespace_row(obj: dict[str, Any], now: datetime | None) -> Row:
    return [
        _name(obj),
        _str(_get(obj, "status", "phase")),
        format_age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


def _configmap_row(obj: dict[str, Any], now: datetime | None) -> Row:
    count = len(_dict(obj.get("data"))) + len(_dict(obj.get("binaryData")))
    return [_name(obj), count, format_age(_get(obj, "metadata", "creationTimestamp"), now)]


def _secret_row(obj: dict[str, Any], now: datetime | None) -> Row:
    return [
        _name(obj),
        _str(obj.get("type")),
        len(_dict(obj.get("data"))),
        format_age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


def _event_row(ev: dict[str, Any], now: datetime | None) -> Row:
    first = format_age(ev.get("firstTimestamp"), now)
    if _parse_time(ev.get("firstTimestamp")) is None:
        first = format_age(ev.get("eventTime"), now)
    last = format_age(ev.get("lastTimestamp"), now) if _parse_time(ev.get("lastTimestamp")) else first
    count = _int(ev.get("count"))
    series = ev.get("series")
    if isinstance(series, dict):
        last = format_age(series.get("lastObservedTime"), now)
        count = _int(series.get("count"))
    elif count == 0:
        # Singleton events don't have a count set in the new API.
        count = 1
    involved = _dict(ev.get("involvedObject"))
    kind = _str(involved.get("kind")).lower()
    target = f"{kind}/{_str(involved.get('name'))}" if _str(involved.get("name")) else kind
    component = _str(_get(ev, "source", "component")) or _str(ev.get("reportingComponent"))
    instance = _str(_get(ev, "source", "host")) or _str(ev.get("reportingInstance"))
    source = f"{component}, {instance}" if instance else component
    return [
        last,
        _str(ev.get("type")),
        _str(ev.get("reason")),
        target,
        _str(involved.get("fieldPath")),
        source,
        _str(ev.get("message")).strip(),
        first,
        count,
        _name(ev),
    ]


def _node_row(node: dict[str, Any], now: datetime | None) -> Row:
    status = _dict(node.get("status"))
    states = []
    for cond in _list(status.get("conditions")):
        if _get(cond, "type") == "Ready":
            states = ["Ready" if _get(cond, "status") == "True" else "NotReady"]
    if not states:
        states = ["Unknown"]
    if _get(node, "spec", "unschedulable") is True:
        states.append("SchedulingDisabled")
    roles: set[str] = set()
    for key, value in _dict(_get(node, "metadata", "labels")).items():
        if not isinstance(key, str):
            continue
        if key.startswith("node-role.kubernetes.io/"):
            role = key.removeprefix("node-role.kubernetes.io/")
            if role:
                roles.add(role)
        elif key == "kubernetes.io/role" and isinstance(value, str) and value:
            roles.add(value)
    info = _dict(status.get("nodeInfo"))

    def address(kind: str) -> str:
        for addr in _list(status.get("addresses")):
            if _get(addr, "type") == kind:
                return _str(_get(addr, "address")) or "<none>"
        return "<none>"

    return [
        _name(node),
        ",".join(states),
        ",".join(sorted(roles)) or "<none>",
        format_age(_get(node, "metadata", "creationTimestamp"), now),
        _str(info.get("kubeletVersion")),
        address("InternalIP"),
        address("ExternalIP"),
        _str(info.get("osImage")) or "<unknown>",
        _str(info.get("kernelVersion")) or "<unknown>",
        _str(info.get("containerRuntimeVersion")) or "<unknown>",
    ]


def _quantity_cell(value: Any) -> str:
    # A missing used quantity is the zero Quantity, which prints "0".
    if value is None:
        return "0"
    try:
        return str(parse_quantity(value))
    except (QuantityError, TypeError, ValueError, OverflowError):
        return value if isinstance(value, str) else "<unknown>"


def _resourcequota_row(quota: dict[str, Any], now: datetime | None) -> Row:
    hard = _dict(_get(quota, "status", "hard"))
    used = _dict(_get(quota, "status", "used"))
    request: list[str] = []
    limit: list[str] = []
    for name in sorted(hard, key=str):
        text = f"{name}: {_quantity_cell(used.get(name))}/{_quantity_cell(hard[name])}"
        pieces = str(name).split(".")
        (limit if len(pieces) > 1 and pieces[0] == "limits" else request).append(text)
    return [
        _name(quota),
        format_age(_get(quota, "metadata", "creationTimestamp"), now),
        ", ".join(request),
        ", ".join(limit),
    ]


def _ingress_row(ing: dict[str, Any], now: datetime | None) -> Row:
    spec = _dict(ing.get("spec"))
    class_name = spec.get("ingressClassName")
    rules = _list(spec.get("rules"))
    hosts: list[str] = []
    most = 4
    more = False
    for rule in rules:
        if len(hosts) == most:
            more = True
        host = _str(_get(rule, "host"))
        if not more and host:
            hosts.append(host)
    hosts_cell = ",".join(hosts) if hosts else "*"
    if hosts and more:
        hosts_cell = f"{hosts_cell} + {len(rules) - most} more..."
    return [
        _name(ing),
        class_name if isinstance(class_name, str) else "<none>",
        hosts_cell,
        _load_balancer_ingress(ing.get("status")),
        "80, 443" if _list(spec.get("tls")) else "80",
        format_age(_get(ing, "metadata", "creationTimestamp"), now),
    ]


def _generic_row(obj: dict[str, Any], now: datetime | None) -> Row:
    created = _parse_time(_get(obj, "metadata", "creationTimestamp"))
    stamp = created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if created else None
    return [_name(obj), stamp]


_ROWS: dict[str, Callable[[dict[str, Any], datetime | None], Row]] = {
    "deployments": _deployment_row,
    "replicasets": _replicaset_row,
    "services": _service_row,
    "endpoints": _endpoints_row,
    "endpointslices": _endpointslice_row,
    "namespaces": _namespace_row,
    "configmaps": _configmap_row,
    "secrets": _secret_row,
    "events": _event_row,
    "nodes": _node_row,
    "resourcequotas": _resourcequota_row,
    "ingresses": _ingress_row,
}


def supports_table(resource: str) -> bool:
    """Every resource can be printed: those without their own columns get Name and Created At."""
    return isinstance(resource, str) and bool(resource)


def column_definitions(resource: str) -> list[dict[str, Any]]:
    return copy.deepcopy(_COLUMNS.get(resource, _GENERIC_COLUMNS))


def _row_object(obj: Any, include_object: str) -> dict[str, Any] | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        return obj if isinstance(obj, dict) else {}
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": copy.deepcopy(_dict(_get(obj, "metadata"))),
    }


def _row(resource: str, obj: Any, now: datetime | None, include_object: str) -> dict[str, Any]:
    safe = obj if isinstance(obj, dict) else {}
    conditions = None
    if resource == "pods":
        cells, conditions = _pod_row(safe, now)
    else:
        cells = _ROWS.get(resource, _generic_row)(safe, now)
    row: dict[str, Any] = {"cells": cells}
    if conditions:
        row["conditions"] = copy.deepcopy(conditions)
    obj_field = _row_object(obj, include_object)
    if obj_field is not None:
        row["object"] = obj_field
    return row


def to_table(
    resource: str,
    objects: list[dict[str, Any]],
    *,
    include_object: str = "Metadata",
    now: datetime | None = None,
    resource_version: str = "",
) -> dict[str, Any]:
    """The `meta.k8s.io/v1` Table for `objects` of `resource` (a plural name such as `pods`).

    include_object is the `includeObject` query parameter: `Metadata` (PartialObjectMetadata),
    `Object` (the whole object) or `None`.
    """
    current = now or datetime.now(UTC)
    metadata: dict[str, Any] = {}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": column_definitions(resource),
        "rows": [_row(resource, obj, current, include_object) for obj in (objects or [])],
    }
