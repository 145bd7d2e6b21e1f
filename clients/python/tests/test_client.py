"""The client against a real daemon: every route, and every search field doing what it says."""

from __future__ import annotations

import asyncio
import math
import time

import pytest

import mrl
import mrl.types
from conftest import new_index_name

TEXTS = {
    "pdf": "A viewer for PDF documents: zoom, search and print pages",
    "ssh": "Secure shell client for remote logins over an encrypted connection",
    "ftp": "File transfer protocol client for uploading files to a server",
    "gimp": "Image editor for retouching photographs and drawing",
}


@pytest.fixture
def texts_index(client: mrl.Client) -> str:
    """An index of the built-in model holding TEXTS, with metadata."""
    name = new_index_name()
    client.create_index(name)
    report = client.upsert_documents(name, [{"id": id, "text": text, "meta": {"kind": id, "n": len(text)}} for id, text in TEXTS.items()])
    assert report == {"added": len(TEXTS), "changed": 0, "unchanged": 0}
    return name


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def test_health_and_metrics(client: mrl.Client, daemon) -> None:
    health = client.health()
    assert health["status"] == "ok" and health["pid"] == daemon.process.pid
    assert "mrl_requests_total" in client.metrics()


def test_an_index_is_created_described_listed_backed_up_and_dropped(client: mrl.Client) -> None:
    name = new_index_name()
    created = client.create_index(name, dimensions=3)
    assert (created["name"], created["dimensions"], created["model"]) == (name, 3, None)
    assert client.get_index(name)["documents"] == 0
    assert name in [info["name"] for info in client.list_indexes()["indexes"]]
    backup = client.backup_index(name)
    assert backup["index"] == name and backup["bytes"] > 0
    assert client.drop_index(name) == {"dropped": name}
    with pytest.raises(mrl.IndexNotFound):
        client.get_index(name)


def test_search_by_text_finds_the_meaning(client: mrl.Client, texts_index: str) -> None:
    result = client.search(texts_index, query="remote login", k=2, include_text=True)
    assert result["hits"][0]["id"] == "ssh"
    assert result["hits"][0]["text"] == TEXTS["ssh"]
    assert result["hits"][0]["meta"] == {"kind": "ssh", "n": len(TEXTS["ssh"])}
    assert len(result["hits"]) == 2 and not result["partial"]


def test_every_search_field_reaches_the_daemon(client: mrl.Client, texts_index: str) -> None:
    assert client.search(texts_index, query="pdf", dims=32)["plan"]["stages"][-1]["dims"] == 32
    assert client.search(texts_index, query="pdf", budget_ms=50)["hits"]
    assert client.search(texts_index, query="pdf", deadline_ms=1000)["hits"]
    assert client.search(texts_index, query="pdf", ef=16, k=1)["hits"]
    assert client.search(texts_index, query="pdf", group_by="parent")["hits"]
    with pytest.raises(mrl.BadRequest) as no_preset:
        client.search(texts_index, query="pdf", preset="no-such-preset")
    assert "preset" in no_preset.value.message
    without = client.search(texts_index, query="pdf", k=1)["hits"][0]
    assert "text" not in without and "vector" not in without
    assert client.search(texts_index, query="remote login", mode="hybrid")["plan"]["mode"] == "hybrid"
    weighted = client.search(texts_index, query="remote login", mode="hybrid", fusion_weight=0.25)["plan"]
    assert (weighted["mode"], weighted["fusion"]) == ("hybrid", {"method": "reciprocal_rank", "weight": 0.25})
    with pytest.raises(mrl.BadRequest) as bad_weight:
        client.search(texts_index, query="pdf", mode="hybrid", fusion_weight=1.5)
    assert "fusion_weight" in bad_weight.value.message
    lexical = client.search(texts_index, query="remote login", mode="lexical", filter={"field": "kind", "eq": "ssh"})
    assert [hit["id"] for hit in lexical["hits"]] == ["ssh"] and lexical["plan"]["mode"] == "lexical"
    with pytest.raises(mrl.BadRequest) as bad_filter:
        client.search(texts_index, query="pdf", filter={"field": "kind", "eq": None})
    assert "filter.eq" in bad_filter.value.message


def test_include_vectors_gives_the_stored_raw_vector(client: mrl.Client) -> None:
    name = new_index_name()
    client.create_index(name, dimensions=3)
    client.upsert_documents(name, [{"id": "a", "vector": [3.0, 0.0, 4.0]}])
    hit = client.search(name, vector=[3, 0, 4], k=1, include_vectors=True)["hits"][0]
    assert hit["vector"] == pytest.approx([3.0, 0.0, 4.0])


def test_batch_search_answers_each_query_in_order(client: mrl.Client, texts_index: str) -> None:
    results = client.search_batch(texts_index, [{"query": "image editing", "k": 1}, {"query": "upload files", "k": 1, "include_text": True}])["results"]
    assert [r["hits"][0]["id"] for r in results] == ["gimp", "ftp"]
    assert results[1]["hits"][0]["text"] == TEXTS["ftp"]


def test_embed_gives_the_vector_the_index_stores(client: mrl.Client, texts_index: str) -> None:
    embedded = client.embed([TEXTS["pdf"], "another"], index=texts_index)
    assert embedded["dimensions"] == 384 and len(embedded["vectors"]) == 2
    stored = client.get_documents(texts_index, ["pdf"], include_vectors=True)["documents"][0]["vector"]
    # The same up to float rounding, which moves with the encoder batch a text is in.
    assert cosine(embedded["vectors"][0], stored) > 0.9999
    assert cosine(client.embed(["another"])["vectors"][0], embedded["vectors"][1]) > 0.9999
    assert cosine(embedded["vectors"][0], embedded["vectors"][1]) < 0.9


def test_an_int8_index_embeds_documents_and_queries_at_int8(client: mrl.Client) -> None:
    name = new_index_name()
    assert client.create_index(name, precision="int8")["model"]["precision"] == "int8"
    client.upsert_documents(name, [{"id": "pdf", "text": TEXTS["pdf"]}])
    int8 = client.embed([TEXTS["pdf"]], index=name)
    assert int8["model"]["precision"] == "int8"
    assert int8["vectors"][0] == client.embed([TEXTS["pdf"]], precision="int8")["vectors"][0]
    stored = client.get_documents(name, ["pdf"], include_vectors=True)["documents"][0]["vector"]
    assert cosine(int8["vectors"][0], stored) > 0.99999
    assert 0.995 < cosine(client.embed([TEXTS["pdf"]])["vectors"][0], stored) < 0.99999
    with pytest.raises(mrl.BadRequest, match="precision"):
        client.embed(["x"], index=name, precision="fp32")
    client.drop_index(name)


def test_documents_one_by_one(client: mrl.Client, texts_index: str) -> None:
    odd_id = "dir/file name?#1%"
    client.upsert_documents(texts_index, [{"id": odd_id, "text": "odd", "meta": {"x": [1, {"y": None}]}}])
    assert client.get_document(texts_index, odd_id) == {"id": odd_id, "text": "odd", "meta": {"x": [1, {"y": None}]}}
    assert client.delete_document(texts_index, odd_id) == {"deleted": odd_id}
    with pytest.raises(mrl.DocumentNotFound):
        client.get_document(texts_index, odd_id)


def test_documents_in_bulk_answer_which_ids_were_missing(client: mrl.Client, texts_index: str) -> None:
    found = client.get_documents(texts_index, ["ssh", "nope", "pdf"])
    assert [d["id"] for d in found["documents"]] == ["ssh", "pdf"] and found["missing"] == ["nope"]
    assert found["documents"][0]["text"] == TEXTS["ssh"]
    assert client.delete_documents(texts_index, ["ssh", "nope", "pdf"]) == {"deleted": 2, "missing": ["nope"]}
    assert client.get_index(texts_index)["documents"] == len(TEXTS) - 2


def test_metadata_comes_back_exactly(client: mrl.Client) -> None:
    name = new_index_name()
    client.create_index(name, dimensions=2)
    meta = {"big": 12345678901234567, "max": 2**63 - 1, "min": -(2**63), "half": 0.5, "s": "é", "t": True, "list": [1, 2.5]}
    client.upsert_documents(name, [{"id": "a", "vector": [1.0, 2.0], "meta": meta}])
    for answer in (client.get_document(name, "a")["meta"], client.search(name, vector=[1, 2], k=1, include_text=True)["hits"][0]["meta"]):
        assert answer == meta
        assert all(type(answer[key]) is type(value) for key, value in meta.items())


def logged_queries(client: mrl.Client, index: str) -> mrl.types.QueryLogPage:
    """The log once it holds a query: the daemon writes it every 2 s (IndexWriter.queryLogInterval)."""
    for _ in range(200):
        page = client.get_query_log(index, offset=0, limit=10)
        if page["count"]:
            return page
        time.sleep(0.05)
    raise AssertionError(f"the query log of {index} still holds no query after 10 s")


def test_query_log_is_switched_read_and_cleared(client: mrl.Client, texts_index: str) -> None:
    assert client.change_query_log(texts_index, enabled=True, include_text=True)["include_text"] is True
    client.search(texts_index, query="remote login")
    page = logged_queries(client, texts_index)
    assert page["queries"][-1]["query"] == "remote login"
    assert client.clear_query_log(texts_index)["count"] == 0


def test_file_records_are_put_read_and_forgotten(client: mrl.Client, texts_index: str) -> None:
    record = {"path": "/notes/a.md", "size": 812, "modified": 1764500000.5, "hash": "9f2c4b1a00d3e7c1", "chunks": 2}
    assert client.update_file_records(texts_index, put=[record]) == {"put": 1, "forgotten": 0}
    assert client.get_file_records(texts_index)["files"] == [record]
    assert client.update_file_records(texts_index, forget=["/notes/a.md"]) == {"put": 0, "forgotten": 1}
    assert client.get_file_records(texts_index)["files"] == []


async def test_the_async_client_answers_as_the_sync_one(aclient: mrl.AsyncClient, client: mrl.Client, texts_index: str) -> None:
    sync = client.search(texts_index, query="photo retouching", k=3)
    answers = await asyncio.gather(*(aclient.search(texts_index, query="photo retouching", k=3) for _ in range(20)))
    assert all([h["id"] for h in a["hits"]] == [h["id"] for h in sync["hits"]] for a in answers)
    found = await aclient.get_documents(texts_index, ["gimp", "nope"])
    assert found["missing"] == ["nope"]
    with pytest.raises(mrl.IndexNotFound):
        await aclient.get_index(new_index_name())
