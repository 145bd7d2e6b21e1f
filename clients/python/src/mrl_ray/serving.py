"""Sharded search on Ray Serve: one deployment per shard, each replica serving its own copy
of the shard (restored from the build with ``mrl restore``) with a private ``mrl serve``, and
a router that embeds a text query once, asks every shard, and merges their top k by score,
then id (the order one index gives equal scores too). It speaks the daemon's search JSON over
HTTP: ``POST /indexes/{index}/search``."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from typing import Any

import mrl
import ray
from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse

from mrl.daemon import run_mrl

from .actor_daemon import actor_daemon
from .shards import ShardedIndex

#: Seconds a shard may take when the request gives no deadline: past it the shard counts as
#: missing, so that a wedged replica never holds an answer forever.
DEFAULT_SHARD_TIMEOUT = 30.0


@serve.deployment
class ShardServer:
    """One replica of one shard: a copy of the shard's index and ``mrl serve`` over it."""

    def __init__(self, name: str, source: str, binary: str | None = None) -> None:
        self.name = name
        self.data = tempfile.mkdtemp(prefix=f"mrl-{name}-")
        run_mrl(binary, "restore", "--data", self.data, "--index", name, "--from", source)
        self.daemon = actor_daemon(self.data, binary=binary)
        self.client = self.daemon.async_client()

    async def search(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.client.request("POST", f"/indexes/{self.name}/search", json=body)

    async def check_health(self) -> None:
        """Serve replaces a replica whose daemon is gone."""
        if not self.daemon.alive:
            raise RuntimeError(f"mrl serve of shard {self.name} exited: {self.daemon.log.read_text()[-500:]}")

    def __del__(self) -> None:
        daemon = getattr(self, "daemon", None)
        if daemon is not None:
            daemon.stop()
        shutil.rmtree(getattr(self, "data", ""), ignore_errors=True)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def merge(answers: dict[str, dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """The top ``k`` hits of all shards: by score, then id in code-point order, as one index ranks."""
    hits = [hit for answer in answers.values() for hit in answer["hits"]]
    return sorted(hits, key=lambda hit: (-hit["score"], hit["id"]))[:k]


@serve.deployment
class Router:
    """Embeds a text query once, sends the vector to every shard with what is left of the
    deadline, and merges. A shard that misses the deadline or is down makes the answer
    ``partial`` and is named in ``missing_shards``; a replica that fails a request (it died
    during it, say) gets the request again once, which Serve sends to a live replica."""

    def __init__(self, index: str, names: list[str], *shards: Any, binary: str | None = None) -> None:
        self.index = index
        self.shards = dict(zip(names, shards))
        self.encoder = actor_daemon(binary=binary)
        self.client = self.encoder.async_client()

    async def __call__(self, request: Request) -> JSONResponse:
        if request.method != "POST" or request.url.path.rstrip("/") != f"/indexes/{self.index}/search":
            return _error(404, "not_found", f"this router answers POST /indexes/{self.index}/search")
        try:
            body = await request.json()
        except ValueError as error:
            return _error(400, "bad_request", f"the body is not JSON: {error}")
        if not isinstance(body, dict):
            return _error(400, "bad_request", "the body must be a JSON object, as for the daemon's search route")
        try:
            return JSONResponse(await self.search(body))
        except mrl.MrlError as error:
            return _error(error.status, error.code, error.message)

    async def search(self, body: dict[str, Any]) -> dict[str, Any]:
        started = time.monotonic()
        if body.get("mode", "semantic") != "semantic":
            raise mrl.BadRequest("bad_request", "field \"mode\": a sharded index answers semantic searches only (BM25 scores of different shards do not compare)", 400)
        body = dict(body)
        if isinstance(body.get("query"), str):
            body["vector"] = (await self.client.embed([body.pop("query")]))["vectors"][0]
        deadline_ms = body.get("deadline_ms")
        deadline = started + deadline_ms / 1000 if isinstance(deadline_ms, (int, float)) and deadline_ms > 0 else None
        names = list(self.shards)
        answers = await asyncio.gather(*(self._ask(name, body, deadline) for name in names), return_exceptions=True)
        found: dict[str, dict[str, Any]] = {}
        missing: list[str] = []
        for name, answer in zip(names, answers):
            if isinstance(answer, mrl.MrlError) and answer.is_client_error:
                raise answer  # the request itself is wrong: every shard says so
            if isinstance(answer, BaseException) and not isinstance(answer, Exception):
                raise answer  # cancelled, interrupted
            if isinstance(answer, BaseException):
                missing.append(name)
            else:
                found[name] = answer
        k = body.get("k", 10)
        first = next(iter(found.values()), None)
        return {
            "hits": merge(found, k),
            "plan": first["plan"] if first else None,
            "partial": bool(missing) or any(answer["partial"] for answer in found.values()),
            "missing_shards": missing,
            "predicted_ms": max((a["predicted_ms"] for a in found.values() if a["predicted_ms"] is not None), default=None),
            "predicted_recall": min((a["predicted_recall"] for a in found.values() if a["predicted_recall"] is not None), default=None),
            "took_ms": (time.monotonic() - started) * 1000,
            "cost": {
                "distance_computations": sum(a["cost"]["distance_computations"] for a in found.values()),
                "bytes_touched": sum(a["cost"]["bytes_touched"] for a in found.values()),
                "dims": first["cost"]["dims"] if first else 0,
            },
            "shards": {name: {"took_ms": a["took_ms"], "partial": a["partial"], "plan": a["plan"]} for name, a in found.items()},
        }

    async def _ask(self, name: str, body: dict[str, Any], deadline: float | None) -> dict[str, Any]:
        """Shard ``name``'s answer, asked again once when a replica failed it."""
        try:
            return await self._ask_once(name, body, deadline)
        except (ray.exceptions.RayTaskError, ray.exceptions.RayActorError) as error:
            cause = getattr(error, "cause", None)
            if isinstance(cause, mrl.MrlError) and cause.is_client_error:
                raise cause from None
            return await self._ask_once(name, body, deadline)

    async def _ask_once(self, name: str, body: dict[str, Any], deadline: float | None) -> dict[str, Any]:
        left = DEFAULT_SHARD_TIMEOUT if deadline is None else deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no time left for shard {name}")
        asked = body if deadline is None else {**body, "deadline_ms": left * 1000}
        return await asyncio.wait_for(self.shards[name].search.remote(asked), timeout=left)

    def __del__(self) -> None:
        encoder = getattr(self, "encoder", None)
        if encoder is not None:
            encoder.stop()


def deploy(
    build: str,
    *,
    replicas: int = 2,
    num_cpus: float = 0.25,
    name: str = "mrl",
    route_prefix: str = "/",
    binary: str | None = None,
) -> serve.handle.DeploymentHandle:
    """Runs the sharded index of ``build`` (from ``build_shards``) on Ray Serve: ``replicas``
    replicas of each shard and one router, each taking ``num_cpus`` of a CPU. Returns the
    router's handle; over HTTP it answers ``POST {route_prefix}indexes/{index}/search``."""
    sharded = ShardedIndex.load(build)
    options = {"num_replicas": replicas, "ray_actor_options": {"num_cpus": num_cpus}, "health_check_period_s": 1}
    shards = [
        ShardServer.options(name=f"{sharded.index}-{shard.name}", **options).bind(shard.name, shard.path, binary)
        for shard in sharded.shards
    ]
    router = Router.options(ray_actor_options={"num_cpus": num_cpus}).bind(
        sharded.index, [shard.name for shard in sharded.shards], *shards, binary=binary
    )
    return serve.run(router, name=name, route_prefix=route_prefix)
