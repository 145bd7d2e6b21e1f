"""The ``mrl serve`` each Ray actor runs (an encoder, or one copy of a shard): one event-loop
thread and one encoder thread, since an actor has one CPU or a share of one; no recall monitor;
warnings only in its log."""

from __future__ import annotations

import os

from mrl.daemon import LocalDaemon


def actor_daemon(data: str | os.PathLike[str] | None = None, *, binary: str | None = None) -> LocalDaemon:
    return LocalDaemon(data, "--threads", "1", "--monitor-cpu", "0", "--log-level", "warning", binary=binary, encoder_threads=1)
