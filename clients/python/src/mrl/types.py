"""The API's bodies as TypedDicts, named as the schemas of api/openapi.json (a test checks that
their keys match the spec's properties). Answers are plain dicts of these shapes."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

# Requests


class _DocumentInputRequired(TypedDict):
    id: str | int


class DocumentInput(_DocumentInputRequired, total=False):
    """A document to upsert: ``text`` (embedded by the index's model) or ``vector``, or both."""

    text: str
    vector: list[float]
    meta: dict[str, Any]


class SearchRequest(TypedDict, total=False):
    """One query of a batch search: the keyword arguments of ``Client.search``."""

    query: str
    vector: list[float]
    k: int
    budget_ms: float
    preset: str
    dims: int
    deadline_ms: float
    include_text: bool
    ef: int
    group_by: Literal["parent"]
    include_vectors: bool
    mode: Literal["semantic", "lexical", "hybrid"]
    filter: dict[str, Any]
    fusion_weight: float


class _FileRecordRequired(TypedDict):
    path: str
    size: int
    modified: float
    hash: str
    chunks: int


class FileRecord(_FileRecordRequired):
    """What folder indexing remembers of a file."""


# Answers


class Plan(TypedDict):
    graph_dims: int | None
    ef: int | None
    stages: list[dict[str, int]]
    early_exit: float | None
    exact: bool


class _HitRequired(TypedDict):
    id: str
    score: float


class Hit(_HitRequired, total=False):
    text: str
    meta: dict[str, Any]
    vector: list[float]


class SearchResult(TypedDict):
    hits: list[Hit]
    plan: Plan
    partial: bool
    predicted_ms: float | None
    predicted_recall: float | None
    took_ms: float
    cost: dict[str, int]


class BatchSearchResult(TypedDict):
    results: list[SearchResult]


class _DocumentRequired(TypedDict):
    id: str
    text: str


class Document(_DocumentRequired, total=False):
    meta: dict[str, Any]
    vector: list[float]


class Documents(TypedDict):
    documents: list[Document]
    missing: list[str]


class DeletedDocuments(TypedDict):
    deleted: int
    missing: list[str]


class WriteReport(TypedDict):
    added: int
    changed: int
    unchanged: int


class Deleted(TypedDict):
    deleted: str


class _IndexInfoRequired(TypedDict):
    name: str
    documents: int
    dimensions: int
    format: int
    vector_type: str
    prefix_segments: list[int]
    model: dict[str, str] | None
    head: dict[str, Any]
    graph: dict[str, Any] | None
    created_at: str
    file_bytes: int
    used_bytes: int
    map_bytes: int
    kernel_isa: str
    description: dict[str, str]
    presets: list[dict[str, Any]]


class IndexInfo(_IndexInfoRequired, total=False):
    calibration: dict[str, Any] | None
    monitor: dict[str, Any] | None
    fusion: dict[str, Any] | None


class IndexList(TypedDict):
    indexes: list[IndexInfo]


class Dropped(TypedDict):
    dropped: str


class Backup(TypedDict):
    index: str
    backup: str
    bytes: int
    restore: str


class Health(TypedDict):
    status: Literal["ok"]
    pid: int
    data: str
    uptime_s: float
    indexes_open: int


class EmbedResult(TypedDict):
    vectors: list[list[float]]
    dimensions: int
    model: dict[str, str]


class _LoggedQueryRequired(TypedDict):
    time: float
    k: int
    vector: list[float]


class LoggedQuery(_LoggedQueryRequired, total=False):
    query: str


class QueryLogPage(TypedDict):
    enabled: bool
    include_text: bool
    seen: int
    stored: int
    count: int
    offset: int
    queries: list[LoggedQuery]


class FileRecords(TypedDict):
    files: list[FileRecord]


class FileRecordsUpdated(TypedDict):
    put: int
    forgotten: int


class _HeadFileRequired(TypedDict):
    format: str
    kind: str
    dimensions: int
    matrix: list[float]


class HeadFile(_HeadFileRequired, total=False):
    """A head as ``mrl head --save`` writes it: ``kind`` none, pca or adaptor; ``matrix`` its
    dimensions² numbers (then an adaptor's offsets); ``model`` the fingerprint of the model whose
    vectors it was fitted on."""

    model: str | None
    fitted_on: int


class _HeadChangeRequired(TypedDict):
    kind: str
    version: int
    samples: int
    documents: int
    seconds: float


class HeadChange(_HeadChangeRequired, total=False):
    """What a change of head did. ``distilled_from``: the queries an adaptor learned their
    full-dimension rankings from (``queries_source`` "log" or "queries"); ``choice``: for an
    automatic head chosen on the query log, the shortlist each candidate head measured."""

    variance_in_prefix: dict[str, float]
    training: dict[str, Any] | None
    fallback: str | None
    distilled_from: int
    queries_source: str | None
    choice: dict[str, Any] | None
