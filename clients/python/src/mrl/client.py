"""Sync and asyncio clients of the mrl daemon, one method per route of api/openapi.json.

Each route is written once (``_Routes``), as a function that builds its request (a ``Call``);
``route`` makes it a method that ``Client`` sends at once and ``AsyncClient`` awaits, typed as
such: ``client.search(...)`` is a ``SearchResult``, ``await aclient.search(...)`` too.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, ParamSpec, TypeVar, overload
from urllib.parse import quote

import httpx

from .discovery import resolve_socket
from .errors import DaemonUnreachable, error_for
from .types import (
    Backup,
    BatchSearchResult,
    DeletedDocuments,
    Deleted,
    Document,
    DocumentInput,
    Documents,
    Dropped,
    EmbedResult,
    FileRecord,
    FileRecords,
    FileRecordsUpdated,
    HeadChange,
    HeadFile,
    Health,
    IndexInfo,
    IndexList,
    QueryLogPage,
    SearchRequest,
    SearchResult,
    WriteReport,
)

BASE_URL = "http://mrl"


def _segment(value: str) -> str:
    """One path segment, percent-encoded so an id with ``/`` or ``?`` stays one segment."""
    return quote(value, safe="")


def _present(**fields: Any) -> dict[str, Any]:
    """The fields given (not None): the daemon applies its own defaults to the others."""
    return {key: value for key, value in fields.items() if value is not None}


Answer = TypeVar("Answer")
Arguments = ParamSpec("Arguments")


@dataclass(frozen=True)
class Call(Generic[Answer]):
    """One request, and (as its type) the answer it gets: JSON, or ``text``."""

    method: str
    path: str
    json: Any = None
    params: dict[str, Any] | None = None
    text: bool = False


class route(Generic[Arguments, Answer]):
    """A route's request builder as a method: of ``Client``, it answers; of ``AsyncClient``,
    it returns the answer's awaitable."""

    def __init__(self, build: Callable[Arguments, Call[Answer]]) -> None:
        self.build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, client: None, owner: type) -> route[Arguments, Answer]: ...
    @overload
    def __get__(self, client: Client, owner: type) -> Callable[Arguments, Answer]: ...
    @overload
    def __get__(self, client: AsyncClient, owner: type) -> Callable[Arguments, Awaitable[Answer]]: ...

    def __get__(self, client: Any, owner: type) -> Any:
        if client is None:
            return self
        build = self.build

        @functools.wraps(build)
        def send(*args: Any, **kwargs: Any) -> Any:
            return client.send(build(*args, **kwargs))

        return send


class _Routes:
    """Every route, for ``Client`` and ``AsyncClient``, whose ``send`` runs a ``Call``."""

    def send(self, call: Call[Any]) -> Any:
        raise NotImplementedError

    def request(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None, text: bool = False) -> Any:
        """Any route, raw: the answer's JSON (or text), or its error raised."""
        return self.send(Call(method, path, json=json, params=params, text=text))

    # Daemon

    @route
    def health() -> Call[Health]:
        """Liveness: pid, data folder, uptime, indexes open."""
        return Call("GET", "/health")

    @route
    def metrics() -> Call[str]:
        """Prometheus text exposition."""
        return Call("GET", "/metrics", text=True)

    @route
    def embed(texts: Sequence[str], *, index: str | None = None, precision: str | None = None) -> Call[EmbedResult]:
        """Vectors of ``texts`` (at most 1,024): by ``index``'s model at its precision, as it
        stores a document of that text (up to float rounding), else by the built-in model at
        ``precision`` ("fp32", the default, or "int8")."""
        return Call("POST", "/embed", json=_present(texts=list(texts), index=index, precision=precision))

    # Indexes

    @route
    def list_indexes() -> Call[IndexList]:
        return Call("GET", "/indexes")

    @route
    def get_index(index: str) -> Call[IndexInfo]:
        """Describe an index: documents, dimensions, model, head, graph, presets."""
        return Call("GET", f"/indexes/{_segment(index)}")

    @route
    def create_index(index: str, *, dimensions: int | None = None, precision: str | None = None) -> Call[IndexInfo]:
        """Create an index: for texts embedded by the built-in model (no ``dimensions``, or
        384) at ``precision`` ("fp32", the default, or "int8": about twice as fast, cosine to
        fp32 at least 0.995), or for vectors of your own model of ``dimensions``."""
        return Call("PUT", f"/indexes/{_segment(index)}", json=_present(dimensions=dimensions, precision=precision))

    @route
    def drop_index(index: str) -> Call[Dropped]:
        """Delete an index and its files."""
        return Call("DELETE", f"/indexes/{_segment(index)}")

    @route
    def backup_index(index: str) -> Call[Backup]:
        """A compacted hot copy into ``backups/`` of the data folder."""
        return Call("POST", f"/indexes/{_segment(index)}/backup")

    # Search

    @route
    def search(
        index: str,
        *,
        query: str | None = None,
        vector: Sequence[float] | None = None,
        k: int | None = None,
        budget_ms: float | None = None,
        preset: str | None = None,
        dims: int | None = None,
        deadline_ms: float | None = None,
        include_text: bool | None = None,
        ef: int | None = None,
        group_by: Literal["parent"] | None = None,
        include_vectors: bool | None = None,
        mode: Literal["semantic", "lexical", "hybrid"] | None = None,
        filter: dict[str, Any] | None = None,
        fusion_weight: float | None = None,
    ) -> Call[SearchResult]:
        """The ``k`` (10) nearest documents to ``query`` (text) or ``vector``. At most one of
        ``budget_ms`` (best plan that fits), ``preset`` or ``dims`` (exact prefix scan) picks the
        plan; ``deadline_ms`` stops it early (``partial``). ``mode`` ranks a text query by
        meaning (``semantic``, the default), by its words (``lexical``, BM25) or both fused
        (``hybrid``), the semantic ranking weighted by ``fusion_weight`` (0 to 1; default the
        weight ``mrl tune`` fitted for the index, else 0.5); ``filter`` keeps only documents
        whose meta passes it, e.g. ``{"field": "ext", "in": ["md", "rst"]}`` (the language:
        api/openapi.json, ``Filter``)."""
        body = _present(
            query=query,
            vector=None if vector is None else list(vector),
            k=k,
            budget_ms=budget_ms,
            preset=preset,
            dims=dims,
            deadline_ms=deadline_ms,
            include_text=include_text,
            ef=ef,
            group_by=group_by,
            include_vectors=include_vectors,
            mode=mode,
            filter=filter,
            fusion_weight=fusion_weight,
        )
        return Call("POST", f"/indexes/{_segment(index)}/search", json=body)

    @route
    def search_batch(index: str, queries: Sequence[SearchRequest]) -> Call[BatchSearchResult]:
        """Up to 1,024 searches in one request; each query takes the fields of ``search``."""
        return Call("POST", f"/indexes/{_segment(index)}/search/batch", json={"queries": list(queries)})

    # Documents

    @route
    def upsert_documents(index: str, documents: Sequence[DocumentInput]) -> Call[WriteReport]:
        """Add or replace up to 10,000 documents by id; answered once committed."""
        return Call("POST", f"/indexes/{_segment(index)}/documents", json={"documents": list(documents)})

    @route
    def get_document(index: str, id: str) -> Call[Document]:
        return Call("GET", f"/indexes/{_segment(index)}/documents/{_segment(id)}")

    @route
    def delete_document(index: str, id: str) -> Call[Deleted]:
        return Call("DELETE", f"/indexes/{_segment(index)}/documents/{_segment(id)}")

    @route
    def get_documents(index: str, ids: Sequence[str], *, include_vectors: bool | None = None) -> Call[Documents]:
        """The documents of ``ids`` that exist, in that order, and the ``missing`` ids."""
        body = _present(ids=list(ids), include_vectors=include_vectors)
        return Call("POST", f"/indexes/{_segment(index)}/documents/get", json=body)

    @route
    def delete_documents(index: str, ids: Sequence[str]) -> Call[DeletedDocuments]:
        """Delete ``ids`` in one transaction; answers how many went and which were ``missing``."""
        return Call("POST", f"/indexes/{_segment(index)}/documents/delete", json={"ids": list(ids)})

    # Query log

    @route
    def get_query_log(index: str, *, offset: int | None = None, limit: int | None = None) -> Call[QueryLogPage]:
        params = _present(offset=offset, limit=limit)
        return Call("GET", f"/indexes/{_segment(index)}/queries", params=params)

    @route
    def change_query_log(index: str, *, enabled: bool | None = None, include_text: bool | None = None) -> Call[QueryLogPage]:
        """Turn the log on or off, and whether it keeps query texts."""
        body = _present(enabled=enabled, include_text=include_text)
        return Call("PUT", f"/indexes/{_segment(index)}/queries", json=body)

    @route
    def clear_query_log(index: str) -> Call[QueryLogPage]:
        return Call("DELETE", f"/indexes/{_segment(index)}/queries")

    # File records (what folder indexing remembers of each file)

    @route
    def get_file_records(index: str) -> Call[FileRecords]:
        return Call("GET", f"/indexes/{_segment(index)}/files")

    @route
    def update_file_records(
        index: str, *, put: Sequence[FileRecord] | None = None, forget: Sequence[str] | None = None
    ) -> Call[FileRecordsUpdated]:
        body = _present(put=None if put is None else list(put), forget=None if forget is None else list(forget))
        return Call("POST", f"/indexes/{_segment(index)}/files", json=body)


    # The head (how vectors map to the space the index searches)

    @route
    def get_head(index: str) -> Call[HeadFile]:
        """The index's head as a file, for ``install_head`` on another index (each shard of a
        sharded index takes the same one): ``client.install_head("b", **client.get_head("a"))``."""
        return Call("GET", f"/indexes/{_segment(index)}/head")

    @route
    def install_head(
        index: str,
        *,
        kind: str,
        dimensions: int,
        matrix: Sequence[float],
        format: str = "mrl-head",
        model: str | None = None,
        fitted_on: int | None = None,
    ) -> Call[HeadChange]:
        """Installs a head fitted elsewhere, kept as it is (writes never refit it); answers once
        its copy of the vectors, and a graph over it when the index has one, are written."""
        body = _present(format=format, kind=kind, dimensions=dimensions, model=model, fitted_on=fitted_on, matrix=list(matrix))
        return Call("PUT", f"/indexes/{_segment(index)}/head", json=body)


class RetryPolicy:
    """How 503 (overloaded) answers are retried: after the answer's Retry-After, or an
    exponential backoff from ``backoff`` seconds doubling up to ``max_backoff``, whichever is
    longer; ``retries`` times, then ``Overloaded`` is raised. A 503 without Retry-After (no
    model to embed with) is not retried: waiting does not bring the model."""

    def __init__(self, retries: int = 5, backoff: float = 0.05, max_backoff: float = 5.0) -> None:
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff

    def delay(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying, or None when the answer stands."""
        retry_after = _retry_after(response)
        if response.status_code != 503 or retry_after is None or attempt >= self.retries:
            return None
        return max(retry_after, min(self.max_backoff, self.backoff * 2**attempt))


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


def _answer(response: httpx.Response, text: bool) -> Any:
    """The body of a 2xx answer, or the error it carries as an exception."""
    if response.is_success:
        return response.text if text else response.json()
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "http_error", response.text or response.reason_phrase
    raise error_for(response.status_code, code, message, _retry_after(response))


class Client(_Routes):
    """The daemon over its Unix socket: ``socket`` or, as the CLI finds it, ``$MRL_SOCKET``,
    ``$XDG_RUNTIME_DIR/mrl.sock`` or ``mrl.sock`` in the data folder.

    >>> with Client() as mrl:
    ...     mrl.search("notes", query="rotate a pdf", k=5)["hits"]
    """

    def __init__(self, socket: str | None = None, *, timeout: float = 60.0, retry: RetryPolicy | None = None) -> None:
        self.socket = resolve_socket(socket)
        self.retry = retry or RetryPolicy()
        self._http = httpx.Client(transport=httpx.HTTPTransport(uds=self.socket), base_url=BASE_URL, timeout=timeout)

    def send(self, call: Call[Any]) -> Any:
        attempt = 0
        while True:
            try:
                response = self._http.request(call.method, call.path, json=call.json, params=call.params)
            except httpx.ConnectError as error:
                raise DaemonUnreachable(self.socket, error) from error
            delay = self.retry.delay(response, attempt)
            if delay is None:
                return _answer(response, call.text)
            time.sleep(delay)
            attempt += 1

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Routes):
    """The asyncio client: the same methods as ``Client``, each to be awaited. Requests run on
    the event loop (httpx over the Unix socket), never in a thread."""

    def __init__(self, socket: str | None = None, *, timeout: float = 60.0, retry: RetryPolicy | None = None, max_connections: int = 64) -> None:
        self.socket = resolve_socket(socket)
        self.retry = retry or RetryPolicy()
        transport = httpx.AsyncHTTPTransport(uds=self.socket, limits=httpx.Limits(max_connections=max_connections))
        self._http = httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=timeout)

    async def send(self, call: Call[Any]) -> Any:
        attempt = 0
        while True:
            try:
                response = await self._http.request(call.method, call.path, json=call.json, params=call.params)
            except httpx.ConnectError as error:
                raise DaemonUnreachable(self.socket, error) from error
            delay = self.retry.delay(response, attempt)
            if delay is None:
                return _answer(response, call.text)
            await asyncio.sleep(delay)
            attempt += 1

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

