"""Reads: which Services are rollouts, and what state each one is in. Pure functions over kube/types.

A rollout is a Service plus the Deployments whose pod template labels match its selector except on one
*track key*. When the track key is in the selector the Service picks one track at a time: blue/green
(the selected track is *active*, the other *preview*). When it is not, the Service spans every track
and the replica ratio sets each track's share: canary (*stable* and *canary*). Annotations on the
Service state it explicitly and win over detection.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kube.types import DeploymentInfo, ServiceInfo

STRATEGY_ANNOTATION = "switchyard.io/strategy"
TRACK_KEY_ANNOTATION = "switchyard.io/track-key"
SCALE_DOWN_DELAY_ANNOTATION = "switchyard.io/scale-down-delay"
BLUE_GREEN = "blue-green"
CANARY = "canary"
STRATEGIES = (BLUE_GREEN, CANARY)
DEFAULT_SCALE_DOWN_DELAY_S = 30.0  # Argo Rollouts' default
# Keys a canary's tracks usually differ on, in the order we prefer them when nothing is annotated.
CANARY_TRACK_KEYS = ("track", "version", "app.kubernetes.io/version")
STABLE_NAMES = ("stable", "primary", "main")
CANARY_NAMES = ("canary",)

_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m(?!s))?\s*(?:(\d+(?:\.\d+)?)s?)?\s*$")


def duration_parse(text: str, default: float = DEFAULT_SCALE_DOWN_DELAY_S) -> float:
    """`30s`, `2m`, `1h30m`, `90` (seconds) → seconds; anything else → `default`."""
    match = _DURATION.match(text or "")
    if not text or not text.strip() or match is None or not any(match.groups()):
        return default
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


@dataclass(frozen=True)
class Track:
    """One Deployment of a rollout, named by its value of the track key (blue, green, stable, canary)."""

    value: str
    deployment: DeploymentInfo
    template: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)  # spec.template
    revision: str = ""  # the Deployment's deployment.kubernetes.io/revision: its current ReplicaSet's

    @property
    def name(self) -> str:
        return self.deployment.name

    @property
    def desired(self) -> int:
        return self.deployment.desired

    @property
    def ready(self) -> int:
        return self.deployment.ready

    @property
    def fully_available(self) -> bool:
        """Every desired replica ready, updated and observed, and the Available condition True."""
        d = self.deployment
        return (
            d.desired > 0
            and d.ready >= d.desired
            and d.available_replicas >= d.desired
            and d.observed_generation >= d.generation
            and d.is_available
        )

    @property
    def images(self) -> tuple[str, ...]:
        return self.deployment.images


@dataclass(frozen=True)
class Rollout:
    cluster: str
    service: ServiceInfo
    strategy: str  # BLUE_GREEN or CANARY
    track_key: str
    tracks: tuple[Track, ...]
    scale_down_delay_s: float = DEFAULT_SCALE_DOWN_DELAY_S
    annotated: bool = False  # stated by annotations rather than detected

    @property
    def namespace(self) -> str:
        return self.service.namespace

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def track(self, value: str) -> Track | None:
        return next((t for t in self.tracks if t.value == value), None)

    def track_by_deployment(self, name: str) -> Track | None:
        return next((t for t in self.tracks if t.name == name), None)

    # -- blue/green ----------------------------------------------------------------------------------

    @property
    def active(self) -> Track | None:
        """The track the Service's selector points at."""
        value = self.service.selector.get(self.track_key)
        return self.track(value) if value is not None else None

    @property
    def preview(self) -> Track | None:
        """The other track (with three or more, the one with most replicas, then the newest)."""
        others = [t for t in self.tracks if t is not self.active]
        if not others:
            return None
        return max(others, key=lambda t: (t.desired, t.deployment.ref.created_at or 0, t.value))

    def selector_for(self, value: str) -> dict[str, str]:
        return {**self.service.selector, self.track_key: value}

    # -- canary --------------------------------------------------------------------------------------

    @property
    def stable(self) -> Track | None:
        return _canary_roles(self.tracks)[0]

    @property
    def canary(self) -> Track | None:
        return _canary_roles(self.tracks)[1]

    @property
    def total_replicas(self) -> int:
        """N for a canary: the replicas of stable and canary together."""
        return sum(t.desired for t in (self.stable, self.canary) if t is not None)

    @property
    def weight(self) -> int | None:
        """The configured canary weight in percent (the replica ratio), None without replicas."""
        canary, total = self.canary, self.total_replicas
        if canary is None or total == 0:
            return None
        return round(100 * canary.desired / total)

    # -- both ----------------------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Every track that should run is fully Available."""
        return all(t.fully_available for t in self.tracks if t.desired > 0)

    def waiting_for(self, *, scale_down_due_at: float | None = None, plan_paused: str = "") -> str:
        """Why someone should look at this rollout now, in words; "" when nothing waits for a person."""
        if self.strategy == BLUE_GREEN:
            active, preview = self.active, self.preview
            if active is None:
                return "The selector matches no track: the Service has no pods behind it."
            if not active.fully_available:
                return f"Active {active.value} is not fully Available ({active.ready}/{active.desired})."
            if preview is not None and preview.fully_available and scale_down_due_at is None:
                return f"{preview.value.capitalize()} is Available and not switched."
            return ""
        if plan_paused:
            return f"Canary plan paused: {plan_paused}"
        weight = self.weight
        if weight is not None and 0 < weight < 100:
            return f"Canary at {weight} %: set the next weight, promote or abort."
        return ""

    def versions(self) -> dict[str, str]:
        """A token of what the user loaded: the Service's resourceVersion and each Deployment's generation."""
        token = {f"svc/{self.name}": self.service.ref.resource_version}
        token |= {f"deploy/{t.name}": str(t.deployment.generation) for t in self.tracks}
        return token

    def versions_token(self) -> str:
        return ";".join(f"{k}={v}" for k, v in sorted(self.versions().items()))

    def state_summary(self) -> str:
        if self.strategy == BLUE_GREEN:
            active, preview = self.active, self.preview
            parts = [
                f"active {active.value} {active.ready}/{active.desired}" if active else "no active track"
            ]
            if preview is not None:
                parts.append(f"preview {preview.value} {preview.ready}/{preview.desired}")
            return ", ".join(parts)
        stable, canary = self.stable, self.canary
        parts = []
        if stable is not None:
            parts.append(f"stable {stable.ready}/{stable.desired}")
        if canary is not None:
            parts.append(f"canary {canary.ready}/{canary.desired}")
        weight = self.weight
        return ", ".join(parts) + (f", weight {weight} %" if weight is not None else "")


def _canary_roles(tracks: tuple[Track, ...]) -> tuple[Track | None, Track | None]:
    """(stable, canary): by name when the values say so, else the older Deployment is stable."""
    if not tracks:
        return None, None
    stable = next((t for t in tracks if t.value in STABLE_NAMES), None)
    canary = next((t for t in tracks if t.value in CANARY_NAMES), None)
    by_age = sorted(
        tracks, key=lambda t: (t.deployment.ref.created_at is None, t.deployment.ref.created_at, t.value)
    )
    if stable is None:
        stable = next((t for t in by_age if t is not canary), None)
    if canary is None:
        canary = next((t for t in reversed(by_age) if t is not stable), None)
    return stable, canary


def _matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


REVISION_ANNOTATION = "deployment.kubernetes.io/revision"


def _tracks(
    key: str,
    base: Mapping[str, str],
    deployments: Iterable[DeploymentInfo],
    templates: Mapping[str, Any],
    revisions: Mapping[str, str] | None = None,
) -> tuple[Track, ...]:
    found: dict[str, Track] = {}
    for d in sorted(deployments, key=lambda d: d.name):
        labels = d.template_labels
        if key in labels and _matches(base, labels) and labels[key] not in found:
            revision = (revisions or {}).get(d.name, "")
            found[labels[key]] = Track(labels[key], d, templates.get(d.name) or {}, revision)
    return tuple(sorted(found.values(), key=lambda t: t.value))


def rollout_detect(
    *,
    cluster: str,
    service: ServiceInfo,
    deployments: Iterable[DeploymentInfo],
    templates: Mapping[str, Any] | None = None,
    revisions: Mapping[str, str] | None = None,
) -> Rollout | None:
    """The rollout this Service fronts, or None. `deployments` are the Service's namespace's;
    `templates` maps a Deployment's name to its spec.template (for quota headroom), `revisions` to its
    deployment.kubernetes.io/revision annotation."""
    selector = service.selector
    if not selector:
        return None
    same_ns = [d for d in deployments if d.namespace == service.namespace]
    templates = templates or {}
    ann = service.annotations
    strategy = ann.get(STRATEGY_ANNOTATION, "").strip()
    key = ann.get(TRACK_KEY_ANNOTATION, "").strip()
    delay = duration_parse(ann.get(SCALE_DOWN_DELAY_ANNOTATION, ""))
    annotated = strategy in STRATEGIES or bool(key)

    def build(strategy: str, key: str, tracks: tuple[Track, ...]) -> Rollout:
        return Rollout(cluster, service, strategy, key, tracks, delay, annotated)

    if key:
        base = {k: v for k, v in selector.items() if k != key}
        tracks = _tracks(key, base, same_ns, templates, revisions)
        if not tracks:
            return None
        if strategy not in STRATEGIES:
            strategy = BLUE_GREEN if key in selector else CANARY
        return build(strategy, key, tracks)

    if strategy != CANARY:
        # Blue/green: a selector key on which Deployments differ, one of them the selected value.
        for candidate in sorted(selector):
            base = {k: v for k, v in selector.items() if k != candidate}
            tracks = _tracks(candidate, base, same_ns, templates, revisions)
            if len(tracks) >= 2 and any(t.value == selector[candidate] for t in tracks):
                return build(BLUE_GREEN, candidate, tracks)
    if strategy != BLUE_GREEN:
        # Canary: Deployments all behind the selector, differing on a track key.
        behind = [d for d in same_ns if _matches(selector, d.template_labels)]
        keys = [k for k in CANARY_TRACK_KEYS if k not in selector]
        keys += sorted({k for d in behind for k in d.template_labels} - set(selector) - set(keys))
        for candidate in keys:
            tracks = _tracks(candidate, selector, behind, templates, revisions)
            if len(tracks) >= 2:
                return build(CANARY, candidate, tracks)
    return None


def rollout_list(
    *,
    cluster: str,
    services: Iterable[ServiceInfo],
    deployments: Iterable[DeploymentInfo],
    templates: Mapping[tuple[str, str], Any] | None = None,
    revisions: Mapping[tuple[str, str], str] | None = None,
) -> list[Rollout]:
    """Every rollout among `services`, sorted by namespace and name."""
    by_ns: dict[str, list[DeploymentInfo]] = {}
    for d in deployments:
        by_ns.setdefault(d.namespace, []).append(d)
    found = []
    for svc in sorted(services, key=lambda s: (s.namespace, s.name)):
        ns_templates = {name: t for (ns, name), t in (templates or {}).items() if ns == svc.namespace}
        ns_revisions = {name: r for (ns, name), r in (revisions or {}).items() if ns == svc.namespace}
        rollout = rollout_detect(
            cluster=cluster,
            service=svc,
            deployments=by_ns.get(svc.namespace, []),
            templates=ns_templates,
            revisions=ns_revisions,
        )
        if rollout is not None:
            found.append(rollout)
    return found


@dataclass(frozen=True)
class RolloutsView:
    """What the hub's cache says right now (for pages and the CLI)."""

    cluster: str
    rollouts: list[Rollout]
    connected: bool
    taken_at: float = field(default_factory=time.time)


def _hub_objects(cluster: str, namespace: str | None, wait: float) -> tuple[list[Any], list[Any], bool]:
    from dashboard.hub import informers_synced

    informers = informers_synced(cluster, ("services", "deployments"), wait=wait)
    services_inf, deployments_inf = informers["services"], informers["deployments"]
    connected = all(i.state().connected and i.state().synced for i in (services_inf, deployments_inf))
    return services_inf.items(namespace), deployments_inf.items(namespace), connected


def rollouts_get(*, cluster: str, namespace: str | None = None, wait: float = 3.0) -> RolloutsView:
    """Rollouts in one namespace (None: all) from the watch hub's cache."""
    services, deployments, connected = _hub_objects(cluster, namespace, wait)
    templates = {
        (str(o["metadata"].get("namespace")), str(o["metadata"].get("name"))): (o.get("spec") or {}).get(
            "template"
        )
        or {}
        for o in deployments
    }
    revisions = {
        (str(o["metadata"].get("namespace")), str(o["metadata"].get("name"))): str(
            (o["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION, "")
        )
        for o in deployments
    }
    rollouts = rollout_list(
        cluster=cluster,
        services=map(ServiceInfo.from_obj, services),
        deployments=map(DeploymentInfo.from_obj, deployments),
        templates=templates,
        revisions=revisions,
    )
    return RolloutsView(cluster=cluster, rollouts=rollouts, connected=connected)


def rollout_get(*, cluster: str, namespace: str, name: str, wait: float = 3.0) -> Rollout | None:
    for rollout in rollouts_get(cluster=cluster, namespace=namespace, wait=wait).rollouts:
        if rollout.name == name:
            return rollout
    return None
