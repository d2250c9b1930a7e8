"""The sandbox's controllers: workloads (Deployment, ReplicaSet, garbage collector) and friends."""

from __future__ import annotations
