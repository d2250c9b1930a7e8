"""`manage.py rollout status|switch|rollback|set-weight|promote|abort|pause|resume NAMESPACE/SERVICE` and
`rollout delete-retired NAMESPACE/SERVICE DEPLOYMENT`: the same services as the buttons (the safe
successor of the seed's bg-deploy.sh, whose last step deletes the old Deployment).

Exit codes: 0 done (or nothing to do), 1 refused (gate, quota, permission, API error), 2 usage,
3 conflict (changed since it was loaded).
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from dashboard.hub import get_hub, reset_hub
from rollouts import services
from rollouts.models import RolloutAction
from rollouts.selectors import Rollout, rollout_get
from rollouts.services import Actor, Outcome

OK, REFUSED, USAGE, CONFLICT = 0, 1, 2, 3
ACTIONS = (
    "status",
    "switch",
    "rollback",
    "set-weight",
    "promote",
    "abort",
    "pause",
    "resume",
    "delete-retired",
)


class Exit(SystemExit):
    pass


class Command(BaseCommand):
    help = "Drive a blue/green or canary rollout from the shell; exit 0 ok, 1 refused, 2 usage, 3 conflict."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=ACTIONS)
        parser.add_argument("target", help="NAMESPACE/SERVICE")
        parser.add_argument(
            "value",
            nargs="?",
            help="switch: the track to switch to; set-weight: percent; delete-retired: the Deployment",
        )
        parser.add_argument("--cluster", default="", help="kubeconfig context (default: the current one)")
        parser.add_argument("--user", default="", help="the operator acting (audited); default $USER as CLI")
        parser.add_argument("--scale-up", action="store_true", help="switch: scale a target at 0 up first")
        parser.add_argument("--wait", action="store_true", help="wait until the change has taken effect")
        parser.add_argument("--timeout", type=float, default=300.0)

    def handle(self, *args: Any, **opts: Any) -> None:
        services.scheduler_enable(False)  # this process runs due steps itself and leaves no thread behind
        try:
            code = self._handle(opts)
        finally:
            reset_hub()  # stop the informer threads before the interpreter goes
        if code:
            raise Exit(code)

    def _fail(self, code: int, message: str) -> int:
        self.stderr.write(message)
        return code

    def _handle(self, opts: dict[str, Any]) -> int:
        namespace, _, name = str(opts["target"]).partition("/")
        if not namespace or not name:
            return self._fail(USAGE, "target must be NAMESPACE/SERVICE")
        hub = get_hub()
        cluster_name = opts["cluster"] or next(iter(hub.clusters), "")
        cluster = hub.clusters.get(cluster_name)
        if cluster is None:
            return self._fail(USAGE, f"no cluster {cluster_name!r} in the kubeconfig")
        services.scheduled_run_due()
        rollout = rollout_get(cluster=cluster_name, namespace=namespace, name=name, wait=10.0)
        if rollout is None:
            return self._fail(REFUSED, f"{namespace}/{name} is not a rollout in {cluster_name}")
        action = opts["action"]
        if action == "status":
            self._status(rollout)
            return OK
        actor = self._actor(opts["user"])
        if actor is None:
            return self._fail(USAGE, f"no user {opts['user']!r} (create one with manage.py adduser)")
        kwargs: dict[str, Any] = {"rollout": rollout, "actor": actor, "cluster": cluster}
        value = opts["value"]
        if action == "switch":
            outcome = services.rollout_switch(**kwargs, to=value or None, scale_up=opts["scale_up"])
        elif action == "rollback":
            outcome = services.rollout_rollback(**kwargs)
        elif action == "set-weight":
            try:
                weight = float(str(value).rstrip("%"))
            except ValueError:
                return self._fail(USAGE, "set-weight needs a percentage, e.g. 25")
            outcome = services.rollout_set_weight(**kwargs, weight=weight)
        elif action == "promote":
            outcome = services.rollout_promote(**kwargs)
        elif action == "abort":
            outcome = services.rollout_abort(**kwargs)
        elif action == "pause":
            outcome = services.rollout_pause(**kwargs)
        elif action == "delete-retired":
            if not value:
                return self._fail(USAGE, "delete-retired needs the Deployment to delete, e.g. greet-stable")
            outcome = services.rollout_delete_retired(**kwargs, deployment=value)
        else:
            outcome = services.rollout_resume(**kwargs)
        (self.stdout if outcome.ok else self.stderr).write(f"{outcome.result}: {outcome.message}")
        if outcome.result == RolloutAction.CONFLICT:
            return CONFLICT
        if not outcome.ok:
            return REFUSED
        if opts["wait"] and action == "delete-retired":
            return self._wait_deleted(rollout, value, opts["timeout"])
        if opts["wait"]:
            return self._wait(rollout, outcome, opts["timeout"])
        return OK

    def _actor(self, username: str) -> Actor | None:
        import getpass

        if not username:
            # A shell user with access to manage.py and the kubeconfig acts as an operator.
            return Actor(f"{getpass.getuser()} (cli)", True, "cli")
        user = get_user_model().objects.filter(username=username).first()
        return Actor.from_user(user, source="cli") if user is not None else None

    def _wait(self, loaded: Rollout, outcome: Outcome, timeout: float) -> int:
        """Until the cluster shows the audited `after`: selector as asked, every track ready at its size."""
        want_selector = outcome.after.get("selector") or {}
        want_replicas = outcome.after.get("replicas") or {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            services.scheduled_run_due()  # a scheduled switch (scale up first) happens here
            now = rollout_get(cluster=loaded.cluster, namespace=loaded.namespace, name=loaded.name, wait=1.0)
            if now is not None:
                pending = services.switch_pending(now)
                selector_ok = pending is None and all(
                    now.service.selector.get(k) == v for k, v in want_selector.items()
                )
                sizes_ok = all(
                    (t := now.track_by_deployment(d)) is not None and t.desired == n and t.ready == n
                    for d, n in want_replicas.items()
                )
                if selector_ok and sizes_ok:
                    self.stdout.write(f"done: {now.state_summary()}")
                    return OK
            time.sleep(0.25)
        return self._fail(REFUSED, f"timed out after {timeout:g}s waiting for {loaded.key}")

    def _wait_deleted(self, loaded: Rollout, deployment: str, timeout: float) -> int:
        """Until the Deployment is out of the rollout (with one track left the Service may be no rollout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = rollout_get(cluster=loaded.cluster, namespace=loaded.namespace, name=loaded.name, wait=1.0)
            if now is None or now.track_by_deployment(deployment) is None:
                self.stdout.write(f"done: {deployment} deleted" + (f"; {now.state_summary()}" if now else ""))
                return OK
            time.sleep(0.25)
        return self._fail(REFUSED, f"timed out after {timeout:g}s waiting for {deployment} to go")

    def _status(self, rollout: Rollout) -> None:
        step = services.scale_down_pending(rollout)
        plan = services.canary_plan(rollout)
        w = self.stdout.write
        w(
            f"{rollout.key}  {rollout.strategy}  track key {rollout.track_key}  selector {rollout.service.selector}"
        )
        for t in rollout.tracks:
            role = (
                ("active" if rollout.active and t.value == rollout.active.value else "preview")
                if rollout.strategy == "blue-green"
                else ("canary" if rollout.canary and t.value == rollout.canary.value else "stable")
            )
            available = (
                "Available" if t.fully_available else ("scaled to 0" if t.desired == 0 else "not Available")
            )
            w(f"  {role:8} {t.value:10} {t.name:24} {t.ready}/{t.desired}  {available}  {' '.join(t.images)}")
        if rollout.strategy == "canary":
            w(f"  weight {rollout.weight} % of {rollout.total_replicas}")
        if step is not None:
            left = step.due_at.timestamp() - time.time()
            w(
                f"  {step.deployment} scales to 0 in {max(0.0, left):.0f}s"
                if left > 0
                else f"  {step.deployment} scale-down overdue (no scheduler running)"
            )
        if plan is not None and plan.active:
            w(
                f"  plan {plan.steps} step {plan.index + 1}{' paused: ' + plan.paused_reason if plan.paused else ''}"
            )
        waiting = rollout.waiting_for(
            scale_down_due_at=step.due_at.timestamp() if step else None,
            plan_paused=plan.paused_reason if plan is not None and plan.paused else "",
        )
        if waiting:
            w(f"  waits for someone: {waiting}")
