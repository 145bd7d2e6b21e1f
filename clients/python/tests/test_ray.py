"""mrl_ray on a local Ray cluster: embedding on Ray Data against `mrl embed`, a sharded build of
the 60,605 Debian reference vectors against one index with the same head, and sharded search on
Ray Serve through replica and shard failures."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import threading
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import ray
from ray import serve

from conftest import MRL_BIN as BINARY, REPO
from mrl import LocalDaemon
import mrl_ray
from mrl_ray import build_shards, embed, shard_of
from mrl_ray.serving import deploy
from mrl_ray.shards import document_lines

SHARED = REPO.parent / "shared"
SEARCH = "http://127.0.0.1:8000/indexes/shard/search"


@pytest.fixture(scope="module")
def cluster():
    mrl_ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": {"MRL_BIN": BINARY}})
    yield
    serve.shutdown()
    ray.shutdown()


def test_embedding_matches_mrl_embed_and_resumes(cluster, tmp_path: Path) -> None:
    with gzip.open(SHARED / "data" / "debian-packages.jsonl.gz", "rt") as lines:
        rows = [json.loads(next(lines)) for _ in range(300)]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": r["id"], "text": r["title"], "section": "x"}) + "\n" for r in rows[:250]))
    reference = tmp_path / "reference.jsonl"
    subprocess.run([BINARY, "embed", str(corpus), "-o", str(reference)], check=True, capture_output=True)
    expected = {r["id"]: np.asarray(r["vector"], np.float32) for r in map(json.loads, reference.read_text().splitlines())}

    out = tmp_path / "vectors"
    first = embed(corpus, out, actors=2, batch_size=64)
    assert (first.present, first.embedded) == (0, 250)
    table = pq.read_table(out)
    assert set(table.column_names) >= {"id", "text", "section", "vector", "content_hash"}
    vectors = np.asarray(table.column("vector").combine_chunks().flatten(), np.float32).reshape(table.num_rows, -1)
    for id, vector in zip(table.column("id").to_pylist(), vectors):
        # Each vector is mrl's: the same floats up to the rounding of a different batch.
        assert float(vector @ expected[id]) > 0.99999, id

    # A re-run over the corpus and 50 rows more embeds only those.
    corpus.write_text(corpus.read_text() + "".join(json.dumps({"id": r["id"], "text": r["title"], "section": "y"}) + "\n" for r in rows[250:]))
    resumed = embed(corpus, out, actors=2)
    assert (resumed.present, resumed.embedded) == (250, 50)


def test_embedding_names_a_missing_column(cluster, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(json.dumps({"id": "a", "body": "no text field"}) + "\n")
    with pytest.raises(ValueError, match="'text'"):
        embed(corpus, tmp_path / "out")


def test_shards_are_stable_and_balanced() -> None:
    counts = np.bincount([shard_of(f"pkg{i}", 4) for i in range(10_000)], minlength=4)
    assert shard_of("python3-lzss", 4) == shard_of("python3-lzss", 4)
    assert counts.min() > 2_300, counts


@pytest.fixture(scope="module")
def debian(cluster, tmp_path_factory):
    """The 60,605 reference vectors built as 2 shards, and as one index with the same head."""
    folder = tmp_path_factory.mktemp("sharded")
    vectors = np.load(SHARED / "data" / "minilm-debian-docs.f16.npy").astype(np.float32)
    with gzip.open(SHARED / "data" / "debian-packages.jsonl.gz", "rt") as lines:
        ids = [json.loads(line)["id"] for line in lines]
    table = pa.table({"id": ids, "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1])})
    pq.write_table(table, folder / "vectors.parquet")
    built = build_shards(folder / "vectors.parquet", folder / "build", shards=2, sample=4_000, binary=BINARY)
    assert [s.documents for s in built.shards] == [sum(shard_of(i, 2) == n for i in ids) for n in range(2)]

    (folder / "all.jsonl").write_bytes(document_lines(table, "id"))
    subprocess.run([BINARY, "index", "--data", str(folder / "single"), "--index", "one", "--head-from", built.head,
                    str(folder / "all.jsonl")], check=True, capture_output=True)
    single = LocalDaemon(folder / "single", binary=BINARY)
    deploy(str(folder / "build"), replicas=2, num_cpus=0.25, binary=BINARY)
    titles = np.load(SHARED / "data" / "minilm-debian-titles.f16.npy").astype(np.float32)[:100]
    yield single, titles
    single.stop()


def search(body: dict) -> dict:
    answer = httpx.post(SEARCH, json=body, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_sharded_search_equals_one_index(debian) -> None:
    single, titles = debian
    with single.client() as one:
        recall_sharded = recall_single = 0.0
        for query in titles:
            vector = query.tolist()
            exact = one.search("one", vector=vector, k=10, dims=384)
            sharded_exact = search({"vector": vector, "k": 10, "dims": 384})
            assert [(h["id"], h["score"]) for h in sharded_exact["hits"]] == [(h["id"], h["score"]) for h in exact["hits"]]
            assert sharded_exact["partial"] is False and sharded_exact["missing_shards"] == []
            truth = {h["id"] for h in exact["hits"]}
            # The same walk on both (the planner's own choice rests on timings, which vary).
            recall_single += len(truth & {h["id"] for h in one.search("one", vector=vector, k=10, ef=32)["hits"]}) / 10
            recall_sharded += len(truth & {h["id"] for h in search({"vector": vector, "k": 10, "ef": 32})["hits"]}) / 10
    assert recall_sharded >= recall_single, (recall_sharded / len(titles), recall_single / len(titles))


def test_text_queries_are_embedded_once_by_the_router(debian) -> None:
    answer = search({"query": "LZSS compression library for Python", "k": 5})
    assert len(answer["hits"]) == 5 and set(answer["shards"]) == {"shard-0", "shard-1"}


def test_router_refuses_what_the_daemon_refuses(debian) -> None:
    bad = httpx.post(SEARCH, json={"vector": [0.1, 0.2], "k": 5}, timeout=60)
    assert bad.status_code == 400 and "dimensions" in bad.json()["error"]["message"]
    lexical = httpx.post(SEARCH, json={"query": "lzss", "mode": "lexical"}, timeout=60)
    assert lexical.status_code == 400 and "mode" in lexical.json()["error"]["message"]
    assert httpx.get(SEARCH, timeout=60).status_code == 404


def test_a_deadline_passes_to_the_shards(debian) -> None:
    vector = debian[1][0].tolist()
    late = search({"vector": vector, "k": 10, "deadline_ms": 0.001})
    assert late["partial"] is True, late
    roomy = search({"vector": vector, "k": 10, "deadline_ms": 10_000})
    assert roomy["partial"] is False and roomy["missing_shards"] == [] and len(roomy["hits"]) == 10


def replica_actors(shard: str) -> list:
    names = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True) if f"shard-{shard}" in a["name"] and "REPLICA" in a["name"]]
    return [ray.get_actor(name, namespace="serve") for name in names]


def test_a_killed_replica_costs_no_query(debian) -> None:
    _, titles = debian
    failures: list[str] = []
    answered = 0

    def stream() -> None:
        nonlocal answered
        for query in titles:
            answer = httpx.post(SEARCH, json={"vector": query.tolist(), "k": 10}, timeout=60)
            if answer.status_code != 200 or answer.json()["partial"]:
                failures.append(answer.text[:300])
            answered += 1

    replicas = replica_actors("shard-0")
    assert len(replicas) == 2
    runner = threading.Thread(target=stream)
    runner.start()
    while answered < 20:
        threading.Event().wait(0.01)
    ray.kill(replicas[0], no_restart=False)
    runner.join()
    assert answered == len(titles) and failures == []


def test_a_stopped_shard_makes_the_answer_partial(debian) -> None:
    _, titles = debian
    # Every replica of shard-1 loses its daemon, as when its machine goes away.
    killed = 0
    for process in Path("/proc").iterdir():
        try:
            command = (process / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in command and any(b"mrl-shard-1-" in part for part in command):
            os.kill(int(process.name), signal.SIGKILL)
            killed += 1
    assert killed == 2
    answer = search({"vector": titles[0].tolist(), "k": 10})
    assert answer["partial"] is True and answer["missing_shards"] == ["shard-1"]
    assert answer["hits"] and all(shard_of(h["id"], 2) == 0 for h in answer["hits"])
