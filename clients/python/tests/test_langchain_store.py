"""The LangChain store beyond LangChain's standard suite: MMR, the retriever, from_texts, mrl's
search keywords, the plan on request, exact metadata, clearing."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding

from conftest import new_index_name
from mrl.langchain import MrlVectorStore

TEXTS = [
    "Secure shell client for remote logins over an encrypted connection",
    "SSH client: log in to remote machines securely",
    "Image editor for retouching photographs and drawing",
]


@pytest.fixture
def store(daemon):
    made = MrlVectorStore.from_texts(TEXTS, metadatas=[{"n": n} for n in range(3)], ids=["ssh", "ssh2", "gimp"], index=new_index_name(), socket=daemon.socket)
    yield made
    made.client.drop_index(made.index)


def test_from_texts_and_the_retriever_find_by_meaning(store: MrlVectorStore) -> None:
    retrieved = store.as_retriever(search_kwargs={"k": 1}).invoke("photo retouching")
    assert retrieved == [Document(id="gimp", page_content=TEXTS[2], metadata={"n": 2})]


async def test_the_async_retriever(store: MrlVectorStore) -> None:
    retrieved = await store.as_retriever(search_kwargs={"k": 1}).ainvoke("photo retouching")
    assert [d.id for d in retrieved] == ["gimp"]


def test_max_marginal_relevance_prefers_variety(store: MrlVectorStore) -> None:
    similar = store.similarity_search("remote login over ssh", k=2)
    assert {d.id for d in similar} == {"ssh", "ssh2"}
    varied = store.max_marginal_relevance_search("remote login over ssh", k=2, fetch_k=3, lambda_mult=0.1)
    assert [d.id for d in varied][1] == "gimp" and varied[0].id in {"ssh", "ssh2"}


async def test_max_marginal_relevance_async(store: MrlVectorStore) -> None:
    varied = await store.amax_marginal_relevance_search("remote login over ssh", k=2, fetch_k=3, lambda_mult=0.1)
    assert [d.id for d in varied][1] == "gimp"


def test_max_marginal_relevance_with_given_embeddings(daemon) -> None:
    embedding = DeterministicFakeEmbedding(size=6)
    store = MrlVectorStore(new_index_name(), embedding, socket=daemon.socket)
    store.add_texts(["a", "b", "c"], ids=["a", "b", "c"])
    assert store.max_marginal_relevance_search("a", k=1)[0].id == "a"
    assert store.client.get_index(store.index)["dimensions"] == 6
    store.client.drop_index(store.index)


def test_search_keywords_pass_through_and_the_plan_comes_only_when_asked(store: MrlVectorStore) -> None:
    scored, plan = store.similarity_search_with_plan("remote login", k=1, dims=64)
    assert plan["plan"]["stages"][-1]["dims"] == 64 and plan["partial"] is False
    document, score = scored[0]
    assert document.metadata == {"n": 0} or document.metadata == {"n": 1}
    assert 0 < score <= 1
    assert store.similarity_search("remote login", k=1, budget_ms=50, deadline_ms=1000)[0].metadata in ({"n": 0}, {"n": 1})
    with pytest.raises(TypeError):
        store.similarity_search("remote login", k=1, no_such_keyword=1)


def test_relevance_scores_are_between_0_and_1(store: MrlVectorStore) -> None:
    scored = store.similarity_search_with_relevance_scores("photo retouching", k=3)
    assert scored[0][0].id == "gimp" and all(0 <= s <= 1 for _, s in scored)


def test_metadata_comes_back_exactly_as_stored(store: MrlVectorStore) -> None:
    meta = {"big": 12345678901234567, "float": 0.1, "nested": {"list": [1, "two", None]}}
    store.add_texts(["exact metadata"], [meta], ids=["meta"])
    assert store.get_by_ids(["meta"])[0].metadata == meta
    assert store.similarity_search("exact metadata", k=1)[0].metadata == meta


def test_filters_keep_only_matching_documents(store: MrlVectorStore) -> None:
    assert [d.id for d in store.similarity_search("remote login", k=3, filter={"n": 1})] == ["ssh2"]
    assert {d.id for d in store.similarity_search("remote login", k=3, filter={"n": [0, 2]})} == {"ssh", "gimp"}
    assert [d.id for d in store.similarity_search("remote login", k=3, filter={"field": "n", "range": {"gte": 2}})] == ["gimp"]
    with pytest.raises(TypeError, match="filter"):
        store.similarity_search("x", filter="n = 1")


def test_delete_without_ids_empties_the_store(store: MrlVectorStore) -> None:
    store.delete()
    assert store.similarity_search("remote login", k=3) == []
    assert store.client.get_index(store.index)["model"] is not None


def test_writes_are_cut_into_batches_of_batch_size(daemon) -> None:
    store = MrlVectorStore(new_index_name(), DeterministicFakeEmbedding(size=2), socket=daemon.socket, batch_size=2)
    ids = store.add_texts([f"text {n}" for n in range(5)])
    assert len(set(ids)) == 5 and [d.id for d in store.get_by_ids(ids)] == ids
    assert store.client.get_index(store.index)["documents"] == 5
    store.client.drop_index(store.index)
