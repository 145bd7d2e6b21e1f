"""Joining a Ray cluster, or starting one on this machine, as mrl_ray's pipelines want it."""

from __future__ import annotations

import os
from typing import Any

import ray

#: Ray ends a worker process idle for a second and starts a new one (a second or two of CPU)
#: for the next task: between the blocks an encoder actor embeds, a pipeline's reads and writes
#: did that over and over. 4,000 Debian texts on 2 actors and 2 cores: 32 texts/s with Ray's
#: default, 51 with idle workers kept. On a cluster started with `ray start`, set
#: RAY_idle_worker_killing_time_threshold_ms=600000 in its environment for the same.
KEEP_IDLE_WORKERS = {"idle_worker_killing_time_threshold_ms": 600_000}


def init(address: str | None = None, **options: Any) -> Any:
    """``ray.init``: joins ``address`` (or ``$RAY_ADDRESS``), else starts a local cluster that
    keeps its idle workers."""
    if address is None and not os.environ.get("RAY_ADDRESS"):
        options.setdefault("_system_config", KEEP_IDLE_WORKERS)
    return ray.init(address=address, **options)
