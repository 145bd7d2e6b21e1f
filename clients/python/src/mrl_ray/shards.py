"""Sharded index build: rows split by a hash of their id into N shards, one head fitted on a
sample of all of them and installed in every shard (so all shards search one space and their
scores compare), each shard built by ``mrl index`` in a Ray task. The result is a folder::

    BUILD/shards.json           what serving reads: the shards, their sizes, the head
    BUILD/head.json             the shared head (``mrl head --save``)
    BUILD/shards/NAME-I/NAME-I  each shard's index: a closed index folder, the backup every
                                serving replica restores its own copy from (``mrl restore --from``)
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.dataset as pads
import ray

from .embedding import LIGHT, VECTOR, read_input, require_columns, write_parquet
from mrl.daemon import mrl_binary, run_mrl


SHARD = "shard"
MANIFEST = "shards.json"


def shard_of(id: str, shards: int) -> int:
    """The shard of ``id``: the same on every machine and every run (not Python's ``hash``)."""
    return int.from_bytes(hashlib.blake2b(id.encode(), digest_size=8).digest(), "big") % shards


@dataclass
class Shard:
    name: str
    #: The shard's index folder: what ``mrl restore --from`` copies.
    path: str
    documents: int


@dataclass
class ShardedIndex:
    index: str
    dimensions: int
    head: str
    shards: list[Shard]
    seconds: float

    @staticmethod
    def load(build: str | Path) -> ShardedIndex:
        try:
            fields = json.loads((Path(build) / MANIFEST).read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"{build}: no {MANIFEST}; build the shards first (mrl-ray build)") from None
        fields["shards"] = [Shard(**shard) for shard in fields["shards"]]
        return ShardedIndex(**fields)

    def save(self, build: str | Path) -> None:
        (Path(build) / MANIFEST).write_text(json.dumps(asdict(self), indent=2) + "\n")


def document_lines(table: pa.Table, id_column: str) -> bytes:
    """Rows as ``mrl index`` JSONL: id, vector, and text and meta when the rows have them.
    orjson writes each float32 in its shortest exact form, about 25 times faster than json."""
    vectors = np.asarray(table.column(VECTOR).combine_chunks().flatten(), dtype=np.float32).reshape(table.num_rows, -1)
    ids = table.column(id_column).to_pylist()
    texts = table.column("text").to_pylist() if "text" in table.column_names else [None] * table.num_rows
    metas = table.column("meta").to_pylist() if "meta" in table.column_names else [None] * table.num_rows
    lines = []
    for id, vector, text, meta in zip(ids, vectors, texts, metas):
        document = {"id": id, "vector": vector}
        if text is not None:
            document["text"] = text
        if meta is not None:
            document["meta"] = orjson.loads(meta) if isinstance(meta, str) else meta
        lines.append(orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY))
    return b"".join(line + b"\n" for line in lines)


def _index_table(table: pa.Table, data: Path, index: str, id_column: str, binary: str | None,
                 extra: list[str]) -> None:
    """``mrl index`` of ``table``'s rows into ``index`` in ``data``, fed through standard input."""
    command = [mrl_binary(binary), "index", "--data", str(data), "--index", index, *extra, "-"]
    done = subprocess.run(command, input=document_lines(table, id_column), capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"mrl index --index {index} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")


@ray.remote(num_cpus=1)
def _build_shard(rows: str, shard: int, build: str, name: str, head: str, id_column: str, binary: str | None) -> dict:
    table = pads.dataset(rows, format="parquet", partitioning="hive").to_table(filter=pads.field(SHARD) == shard)
    data = Path(build) / "shards" / name
    shutil.rmtree(data, ignore_errors=True)
    _index_table(table, data, name, id_column, binary, ["--head-from", head])
    return asdict(Shard(name=name, path=str(data / name), documents=table.num_rows))


def build_shards(
    vectors: str | Path,
    build: str | Path,
    *,
    shards: int,
    index: str = "shard",
    head: str = "pca",
    sample: int = 50_000,
    id_column: str = "id",
    binary: str | None = None,
) -> ShardedIndex:
    """Splits the rows of ``vectors`` (JSONL or Parquet with ``id`` and ``vector``, e.g. the
    output of ``mrl-ray embed``) into ``shards`` shards by a hash of the id, fits one ``head``
    ("pca", "adaptor" or "none") on a random sample of about ``sample`` rows of all of them,
    and builds each shard with ``mrl index --head-from`` in a Ray task of one CPU."""
    if not 1 <= shards <= 1_024:
        raise ValueError(f"shards must be from 1 to 1024, got {shards}")
    started = time.monotonic()
    build = Path(build)
    if build.exists():
        raise FileExistsError(f"{build} exists: give a new folder for the build")
    build.mkdir(parents=True)
    dataset = read_input(vectors)
    require_columns(dataset, str(vectors), id_column, VECTOR)
    dimensions = len(dataset.take(1)[0][VECTOR])

    # One head for all shards, fitted by mrl itself on a random sample of all the rows.
    rows = dataset.count()
    fraction = min(1.0, sample / max(rows, 1))
    sampled = pa.concat_tables(ray.get((dataset.random_sample(fraction, seed=0) if fraction < 1 else dataset).to_arrow_refs()))
    fitting = build / "head-fit"
    extra = [] if head == "pca" else ["--head", head]
    _index_table(sampled, fitting, "sample", id_column, binary, extra)
    run_mrl(binary, "head", "--data", str(fitting), "--index", "sample", "--save", str(build / "head.json"))
    shutil.rmtree(fitting)

    # Rows by shard, as Parquet partitions that each task reads its own of.
    parts = build / "rows"
    with_shards = dataset.map_batches(
        lambda batch: batch.append_column(SHARD, pa.array([shard_of(i, shards) for i in batch.column(id_column).to_pylist()], pa.int32())),
        batch_format="pyarrow",
        num_cpus=LIGHT["num_cpus"],
        compute=ray.data.TaskPoolStrategy(size=LIGHT["concurrency"]),
    )
    write_parquet(with_shards, parts, partition_cols=[SHARD])
    names = [f"{index}-{i}" for i in range(shards)]
    built = ray.get([
        _build_shard.remote(str(parts), i, str(build), name, str(build / "head.json"), id_column, binary)
        for i, name in enumerate(names)
    ])
    shutil.rmtree(parts)
    result = ShardedIndex(index=index, dimensions=dimensions, head=str(build / "head.json"),
                          shards=[Shard(**shard) for shard in built], seconds=time.monotonic() - started)
    result.save(build)
    return result
