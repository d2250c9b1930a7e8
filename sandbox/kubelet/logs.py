"""Container logs: each output line appended as ``<RFC3339Nano> <text>`` (see `sandbox.hooks.pod_log_path`)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path


def rfc3339nano(ns: int | None = None) -> str:
    ns = time.time_ns() if ns is None else ns
    seconds, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{frac:09d}Z"


def rotate(current: Path, previous: Path) -> None:
    """Start a new instance's log: the current one becomes the `.previous.log`."""
    current.parent.mkdir(parents=True, exist_ok=True)
    if current.exists():
        os.replace(current, previous)


async def pump(stream: asyncio.StreamReader, path: Path, on_output: Callable[[], None] | None = None) -> None:
    """Copy a process's output into `path` until EOF, one timestamped line at a time; `on_output` is
    called after each chunk is written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pending = b""
    with path.open("ab", buffering=0) as out:
        while True:
            chunk = await stream.read(65536)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            if lines:
                stamp = rfc3339nano().encode()
                out.write(b"".join(stamp + b" " + line + b"\n" for line in lines))
            if on_output is not None:
                on_output()
        if pending:
            out.write(rfc3339nano().encode() + b" " + pending + b"\n")
