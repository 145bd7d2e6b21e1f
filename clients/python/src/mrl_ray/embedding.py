"""Bulk embedding on Ray Data: ``MrlEmbedder`` is a ``map_batches`` callable class whose actors
each run mrl's own encoder (a private ``mrl serve``, asked through ``POST /embed``), so the
vectors are the ones ``mrl embed`` and ``mrl index`` compute; ``embed`` reads JSONL or Parquet,
skips rows embedded by an earlier run, and writes Parquet."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import ray

from .actor_daemon import actor_daemon

VECTOR = "vector"
CONTENT_HASH = "content_hash"
#: Texts one ``POST /embed`` takes (the daemon's limit).
EMBED_LIMIT = 1_024


def content_hash(id: str, text: str, precision: str) -> str:
    """What identifies one embedding: the row's id and text, and the encoder's precision."""
    return hashlib.sha256(f"{precision}\0{id}\0{text}".encode()).hexdigest()[:32]


#: What reading, hashing and writing rows reserve: none. They are light, and the encoder actors
#: reserve one CPU each; were the reads to wait for a CPU too, actors holding every CPU of the
#: cluster would leave them none, and nothing would move.
LIGHT = {"num_cpus": 0}


def read_input(path: str | Path) -> ray.data.Dataset:
    """JSONL (``.jsonl``, ``.jsonl.gz``, ``.json``) or Parquet (a file or a folder of them)."""
    name = str(path)
    if name.endswith((".jsonl", ".jsonl.gz", ".json", ".json.gz")):
        return ray.data.read_json(name, **LIGHT)
    if name.endswith(".parquet") or Path(name).is_dir():
        return ray.data.read_parquet(name, **LIGHT)
    raise ValueError(f"{name}: give a JSONL file (.jsonl, .jsonl.gz) or Parquet (a .parquet file or a folder of them)")


def require_columns(dataset: ray.data.Dataset, source: str, *names: str) -> None:
    present = set(dataset.schema().names)
    missing = [name for name in names if name not in present]
    if missing:
        raise ValueError(f"{source}: rows have no {', '.join(repr(m) for m in missing)} (they have {', '.join(sorted(present))})")


def vector_column(vectors: list[list[float]], dimensions: int) -> pa.FixedSizeListArray:
    flat = np.asarray(vectors, dtype=np.float32).reshape(len(vectors) * dimensions)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat, type=pa.float32()), dimensions)


def _with_hashes(batch: pa.Table, id_column: str, text_column: str, precision: str) -> pa.Table:
    ids, texts = batch.column(id_column).to_pylist(), batch.column(text_column).to_pylist()
    for id, text in zip(ids, texts):
        if not isinstance(id, str) or not isinstance(text, str):
            raise ValueError(f"row {id!r}: {id_column!r} and {text_column!r} must be strings")
    hashes = pa.array([content_hash(i, t, precision) for i, t in zip(ids, texts)], type=pa.string())
    return batch.append_column(CONTENT_HASH, hashes)


def _not_in(batch: pa.Table, done: pa.Array) -> pa.Table:
    return batch.filter(pc.invert(pc.is_in(batch.column(CONTENT_HASH), value_set=done)))


class MrlEmbedder:
    """``dataset.map_batches(MrlEmbedder, concurrency=N, num_cpus=1, batch_format="pyarrow")``:
    adds a ``vector`` column (fixed-size lists of float32) holding the embedding of ``text``.

    Each actor starts its own ``mrl serve`` with an encoder of one thread, so N actors of one
    CPU each use N cores without fighting over them."""

    def __init__(self, *, text_column: str = "text", precision: str = "fp32", binary: str | None = None) -> None:
        self.text_column = text_column
        self.precision = precision
        self.daemon = actor_daemon(binary=binary)
        self.client = self.daemon.client()
        self.dimensions = self.client.embed([""], precision=precision)["dimensions"]

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts = batch.column(self.text_column).to_pylist()
        vectors: list[list[float]] = []
        for start in range(0, len(texts), EMBED_LIMIT):
            vectors.extend(self.client.embed(texts[start : start + EMBED_LIMIT], precision=self.precision)["vectors"])
        if VECTOR in batch.column_names:
            batch = batch.drop_columns([VECTOR])
        return batch.append_column(VECTOR, vector_column(vectors, self.dimensions))

    def __del__(self) -> None:
        daemon = getattr(self, "daemon", None)
        if daemon is not None:
            daemon.stop()


@dataclass
class EmbedReport:
    #: Rows in the output before this run (skipped when the input holds them again).
    present: int
    #: Rows this run embedded and wrote.
    embedded: int
    seconds: float


def rows_in(output: str | Path) -> tuple[int, pa.Array]:
    """Rows already in the Parquet folder ``output``, and their content hashes."""
    if not Path(output).is_dir() or not any(Path(output).glob("*.parquet")):
        return 0, pa.array([], type=pa.string())
    hashes = pads.dataset(str(output), format="parquet").to_table(columns=[CONTENT_HASH]).column(CONTENT_HASH)
    return len(hashes), hashes.combine_chunks()


def embed(
    input: str | Path,
    output: str | Path,
    *,
    actors: int = 2,
    batch_size: int = 256,
    id_column: str = "id",
    text_column: str = "text",
    precision: str = "fp32",
    binary: str | None = None,
) -> EmbedReport:
    """Embeds the ``text`` of every row of ``input`` (JSONL or Parquet) on ``actors`` Ray actors
    of one CPU each, and appends the rows with their ``vector`` and ``content_hash`` to the
    Parquet folder ``output``. Rows whose id and text were embedded into ``output`` before (at
    this precision) are skipped: an interrupted or repeated run does only what is left."""
    started = time.monotonic()
    dataset = read_input(input)
    require_columns(dataset, str(input), id_column, text_column)
    present, done = rows_in(output)
    dataset = dataset.map_batches(_with_hashes, batch_format="pyarrow", **LIGHT,
                                  fn_kwargs={"id_column": id_column, "text_column": text_column, "precision": precision})
    if present:
        dataset = dataset.map_batches(_not_in, batch_format="pyarrow", fn_kwargs={"done": done}, **LIGHT)
    dataset = dataset.map_batches(
        MrlEmbedder,
        batch_format="pyarrow",
        batch_size=batch_size,
        concurrency=actors,
        num_cpus=1,
        fn_constructor_kwargs={"text_column": text_column, "precision": precision, "binary": binary},
    )
    dataset.write_parquet(str(output), ray_remote_args=LIGHT)
    total, _ = rows_in(output)
    return EmbedReport(present=present, embedded=total - present, seconds=time.monotonic() - started)
