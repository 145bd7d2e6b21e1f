"""The LlamaIndex store against a real daemon: add, get, delete by source document and by node,
clear, queries by vector and by text, and VectorStoreIndex's retriever end to end."""

from __future__ import annotations

import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)

from conftest import new_index_name
from mrl.llama_index import MrlEmbedding, MrlVectorStore

PDF = "pdftk rotates, merges and splits the pages of PDF documents. " * 8
SSH = "OpenSSH logs you in to remote machines over an encrypted channel. " * 8


@pytest.fixture
def index_name(client):
    name = new_index_name()
    yield name
    client.drop_index(name)


def node(id: str, vector: list[float], ref: str | None = None, **meta) -> TextNode:
    made = TextNode(id_=id, text=f"text of {id}", embedding=vector, metadata=meta)
    if ref is not None:
        made.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=ref)
    return made


def test_the_retriever_end_to_end_with_mrl_embedding(daemon, index_name) -> None:
    store = MrlVectorStore(index_name, socket=daemon.socket)
    index = VectorStoreIndex.from_vector_store(store, embed_model=MrlEmbedding(index=index_name, socket=daemon.socket))
    splitter = SentenceSplitter(chunk_size=64, chunk_overlap=0)
    for document in (Document(text=PDF, id_="pdf.md"), Document(text=SSH, id_="ssh.md")):
        index.insert_nodes(splitter.get_nodes_from_documents([document]))
    found = index.as_retriever(similarity_top_k=2).retrieve("rotate the pages of a pdf")
    assert [hit.node.ref_doc_id for hit in found] == ["pdf.md", "pdf.md"]
    assert all(hit.node.node_id.startswith("pdf.md#") and "pdftk" in hit.node.get_content() for hit in found)
    chunks = store.client.get_index(index_name)["documents"]
    assert chunks > 2
    index.delete_ref_doc("pdf.md")
    assert store.client.get_index(index_name)["documents"] < chunks
    assert {hit.node.ref_doc_id for hit in index.as_retriever(similarity_top_k=5).retrieve("pdf pages")} == {"ssh.md"}


def test_nodes_are_added_read_deleted_and_cleared(daemon, index_name) -> None:
    store = MrlVectorStore(index_name, socket=daemon.socket, dimensions=3)
    ids = store.add([node("a", [1, 0, 0], ref="doc", n=12345678901234567), node("b", [0, 1, 0], ref="doc"), node("free", [0, 0, 1])])
    assert ids == ["doc#0", "doc#1", "free"]
    got = store.get_nodes(["doc#0", "nope", "free"])
    assert [n.node_id for n in got] == ["doc#0", "free"]
    assert got[0].metadata == {"n": 12345678901234567} and got[0].get_content() == "text of a" and got[0].ref_doc_id == "doc"
    again = store.get_nodes(["doc#1"])[0]
    again.set_content("changed")
    again.embedding = [0, 1, 1]
    assert store.add([again]) == ["doc#1"], "a node added again under its id replaces itself"
    assert store.get_nodes(["doc#1"])[0].get_content() == "changed" and store.client.get_index(index_name)["documents"] == 3
    store.delete_nodes(["doc#0"])
    assert store.add([node("doc#5", [1, 0, 1], ref="doc"), node("c", [1, 1, 0], ref="doc"), node("d", [1, 1, 1], ref="doc")]) == ["doc#5", "doc#0", "doc#2"], "freed ids are used again, not one taken in the same call"
    store.delete("doc")
    assert [n.node_id for n in store.get_nodes(["doc#0", "doc#1", "free"])] == ["free"]
    store.clear()
    assert store.get_nodes(["free"]) == [] and store.client.get_index(index_name)["dimensions"] == 3


def test_queries_by_vector_by_text_and_mmr(daemon, index_name) -> None:
    store = MrlVectorStore(index_name, socket=daemon.socket, is_embedding_query=False)
    texts = {"pdf": "merge the pages of PDF files", "pdf2": "split and merge PDF documents", "ssh": "log in to a remote machine"}
    store.add([TextNode(id_=id, text=text) for id, text in texts.items()])
    by_text = store.query(VectorStoreQuery(query_str="combine pdf pages", similarity_top_k=2))
    assert set(by_text.ids) == {"pdf", "pdf2"} and by_text.similarities[0] >= by_text.similarities[1]
    vector = MrlEmbedding(index=index_name, socket=daemon.socket).get_query_embedding("combine pdf pages")
    by_vector = store.query(VectorStoreQuery(query_embedding=vector, similarity_top_k=2), dims=128)
    assert by_vector.ids == by_text.ids
    mmr = store.query(VectorStoreQuery(query_embedding=vector, similarity_top_k=2, mode=VectorStoreQueryMode.MMR, mmr_threshold=0.1))
    assert mmr.ids[1] == "ssh"


def test_metadata_filters_keep_only_matching_nodes(daemon, index_name) -> None:
    store = MrlVectorStore(index_name, socket=daemon.socket, dimensions=2)
    store.add([node(f"n{i}", [1, 0.1 * i], year=2020 + i, kind="a" if i % 2 else "b") for i in range(6)])

    def ids(*tests: MetadataFilter | MetadataFilters, condition: FilterCondition = FilterCondition.AND) -> set[str]:
        query = VectorStoreQuery(query_embedding=[1, 0], similarity_top_k=6, filters=MetadataFilters(filters=list(tests), condition=condition))
        return set(store.query(query).ids)

    assert ids(MetadataFilter(key="kind", value="a")) == {"n1", "n3", "n5"}
    assert ids(MetadataFilter(key="year", value=2023, operator=FilterOperator.GTE), MetadataFilter(key="kind", value="b")) == {"n4"}
    assert ids(MetadataFilter(key="year", value=2020), MetadataFilter(key="year", value=2025), condition=FilterCondition.OR) == {"n0", "n5"}
    assert ids(MetadataFilter(key="year", value=[2020, 2021], operator=FilterOperator.NIN)) == {"n2", "n3", "n4", "n5"}
    with pytest.raises(NotImplementedError, match="text_match"):
        ids(MetadataFilter(key="kind", value="a", operator=FilterOperator.TEXT_MATCH))


async def test_the_async_forms(daemon, index_name) -> None:
    store = MrlVectorStore(index_name, socket=daemon.socket, dimensions=2)
    assert await store.async_add([node("a", [1, 0], ref="doc"), node("b", [0, 1], ref="doc")]) == ["doc#0", "doc#1"]
    result = await store.aquery(VectorStoreQuery(query_embedding=[1, 0.1], similarity_top_k=1))
    assert result.ids == ["doc#0"] and result.nodes[0].get_content() == "text of a"
    assert [n.node_id for n in await store.aget_nodes(["doc#1"])] == ["doc#1"]
    await store.adelete_nodes(["doc#1"])
    await store.adelete("doc")
    assert await store.aget_nodes(["doc#0", "doc#1"]) == []
    await store.async_add([node("x", [1, 1])])
    await store.aclear()
    assert store.client.get_index(index_name)["documents"] == 0
