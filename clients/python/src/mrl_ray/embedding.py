"""Bulk embedding on Ray Data: ``MrlEmbedder`` is a ``map_batches`` callable class whose actors
each run mrl's own encoder (a private ``mrl serve``, asked through ``POST /embed``), so the
vectors are the ones ``mrl embed`` and ``mrl index`` compute; ``embed`` reads JSONL or Parquet,
skips rows embedded by an earlier run, and writes Parquet."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


#: What reading and writing rows reserve: no CPU, since the encoder actors reserve one each and
#: reads waiting for a CPU that actors hold would wait forever; and at most 2 tasks at a time,
#: since each task at once takes a Ray worker process, whose start costs a second or two of CPU.
LIGHT = {"num_cpus": 0, "concurrency": 2}


def write_parquet(dataset: ray.data.Dataset, path: str | Path, **options: Any) -> None:
    """``dataset.write_parquet`` with its writes as light as its reads (see ``LIGHT``)."""
    dataset.write_parquet(str(path), ray_remote_args={"num_cpus": LIGHT["num_cpus"]}, concurrency=LIGHT["concurrency"], **options)


def read_input(path: str | Path, blocks: int | None = None) -> ray.data.Dataset:
    """JSONL (``.jsonl``, ``.jsonl.gz``, ``.json``) or Parquet (a file or a folder of them), in
    at least ``blocks`` blocks when given."""
    name = str(path)
    if name.endswith((".jsonl", ".jsonl.gz", ".json", ".json.gz")):
        return ray.data.read_json(name, override_num_blocks=blocks, **LIGHT)
    if name.endswith(".parquet") or Path(name).is_dir():
        return ray.data.read_parquet(name, override_num_blocks=blocks, **LIGHT)
    raise ValueError(f"{name}: give a JSONL file (.jsonl, .jsonl.gz) or Parquet (a .parquet file or a folder of them)")


def input_bytes(path: str | Path) -> int:
    """Bytes of the file, or of the files in the folder, at ``path``."""
    path = Path(path)
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else path.stat().st_size


def require_columns(dataset: ray.data.Dataset, source: str, *names: str) -> None:
    present = set(dataset.schema().names)
    missing = [name for name in names if name not in present]
    if missing:
        raise ValueError(f"{source}: rows have no {', '.join(repr(m) for m in missing)} (they have {', '.join(sorted(present))})")


def vector_column(vectors: list[list[float]], dimensions: int) -> pa.FixedSizeListArray:
    flat = np.asarray(vectors, dtype=np.float32).reshape(len(vectors) * dimensions)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat, type=pa.float32()), dimensions)


class MrlEmbedder:
    """``dataset.map_batches(MrlEmbedder, concurrency=N, num_cpus=1, batch_format="pyarrow")``:
    adds a ``content_hash`` column (of id, text and precision) and a ``vector`` column
    (fixed-size lists of float32) holding the embedding of ``text``; rows whose hash is in
    ``done`` (embedded by an earlier run) are left out.

    Each actor starts its own ``mrl serve`` with an encoder of one thread, so N actors of one
    CPU each use N cores without fighting over them."""

    def __init__(self, *, id_column: str = "id", text_column: str = "text", precision: str = "fp32",
                 binary: str | None = None, done: pa.Array | None = None) -> None:
        self.id_column, self.text_column, self.precision = id_column, text_column, precision
        self.done = done if done is not None and len(done) else None
        self.daemon = actor_daemon(binary=binary)
        self.client = self.daemon.client()
        self.dimensions = self.client.embed([""], precision=precision)["dimensions"]

    def __call__(self, batch: pa.Table) -> pa.Table:
        ids, texts = batch.column(self.id_column).to_pylist(), batch.column(self.text_column).to_pylist()
        for id, text in zip(ids, texts):
            if not isinstance(id, str) or not isinstance(text, str):
                raise ValueError(f"row {id!r}: {self.id_column!r} and {self.text_column!r} must be strings")
        hashes = pa.array([content_hash(i, t, self.precision) for i, t in zip(ids, texts)], type=pa.string())
        batch = batch.drop_columns([c for c in (VECTOR, CONTENT_HASH) if c in batch.column_names]).append_column(CONTENT_HASH, hashes)
        if self.done is not None:
            batch = batch.filter(pc.invert(pc.is_in(hashes, value_set=self.done)))
        texts = batch.column(self.text_column).to_pylist()
        vectors: list[list[float]] = []
        for start in range(0, len(texts), EMBED_LIMIT):
            vectors.extend(self.client.embed(texts[start : start + EMBED_LIMIT], precision=self.precision)["vectors"])
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


def hashes_in(output: str | Path) -> pa.Array:
    """The content hashes of the rows already in the Parquet folder ``output``."""
    if not Path(output).is_dir() or not any(Path(output).glob("*.parquet")):
        return pa.array([], type=pa.string())
    return pads.dataset(str(output), format="parquet").to_table(columns=[CONTENT_HASH]).column(CONTENT_HASH).combine_chunks()


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
    # An actor embeds a block's batches one after the other: a file read as one block would
    # keep all but one actor idle. Blocks of about 1 MB, and at least 4 per actor, keep all busy.
    dataset = read_input(input, blocks=max(4 * actors, input_bytes(input) >> 20))
    require_columns(dataset, str(input), id_column, text_column)
    done = hashes_in(output)
    dataset = dataset.map_batches(
        MrlEmbedder,
        batch_format="pyarrow",
        batch_size=batch_size,
        # One block at a time per actor: blocks queued on a busy actor while another is idle
        # would leave the last ones to one actor.
        compute=ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1),
        num_cpus=1,
        fn_constructor_kwargs={"id_column": id_column, "text_column": text_column, "precision": precision,
                               "binary": binary, "done": done},
    )
    write_parquet(dataset, output)
    # Parquet's footers give the row count: no need to read the hashes again.
    total = pads.dataset(str(output), format="parquet").count_rows()
    return EmbedReport(present=len(done), embedded=total - len(done), seconds=time.monotonic() - started)
