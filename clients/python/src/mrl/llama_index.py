"""A LlamaIndex vector store over an mrl index (``pip install 'mrl-client[llama-index]'``).

The nodes of one source document are stored as ``REF#0``, ``REF#1``... (as ``mrl index`` stores
a file's chunks as ``PATH#N``), with ``parent`` = REF in their metadata: ``delete(ref_doc_id)``
finds them all by id, and ``group_by="parent"`` gives the best node of each document. A node's
id in this store is that stored id (a node added again under it is replaced); nodes with no
source document keep their own id.
Ids freed by deleting single nodes are reused first, so a document's ids stay dense (a gap of
1,000 or more would hide the nodes past it from ``delete``).

>>> store = MrlVectorStore("notes")
>>> index = VectorStoreIndex.from_vector_store(store, embed_model=MrlEmbedding(index="notes"))
>>> index.as_retriever(similarity_top_k=3).retrieve("rotate a pdf")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.schema import BaseNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    FilterCondition,
    FilterOperator,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)
from llama_index.core.vector_stores.utils import metadata_dict_to_node, node_to_metadata_dict

from .client import AsyncClient, Client
from .indexes import aempty_index, empty_index, ensure_index
from .mmr import maximal_marginal_relevance
from .types import DocumentInput, Hit, SearchResult
from .types import Document as StoredDocument

WINDOW = 1000  # ids of one document read or deleted per request


def _window(ref_doc_id: str, start: int) -> list[str]:
    return [f"{ref_doc_id}#{n}" for n in range(start, start + WINDOW)]


def _node(record: Hit | StoredDocument) -> BaseNode:
    node = metadata_dict_to_node(record.get("meta", {}), text=record.get("text", ""))
    node.id_ = record["id"]
    return node


def _no_filters(filters: MetadataFilters | None) -> None:
    if filters is not None and filters.filters:
        raise NotImplementedError("mrl gets and deletes nodes by id only: give node_ids without filters")


_TESTS = {FilterOperator.EQ: "eq", FilterOperator.NE: "ne", FilterOperator.IN: "in"}
_BOUNDS = {FilterOperator.GT: "gt", FilterOperator.GTE: "gte", FilterOperator.LT: "lt", FilterOperator.LTE: "lte"}


def _mrl_filter(filters: MetadataFilters | None) -> dict[str, Any] | None:
    """LlamaIndex's metadata filters in mrl's filter language (a node's metadata keys are its
    meta's top-level keys); operators mrl has no counterpart for are refused by name."""
    if filters is None or not filters.filters:
        return None
    tests: list[dict[str, Any]] = []
    for test in filters.filters:
        if isinstance(test, MetadataFilters):
            nested = _mrl_filter(test)
            if nested is not None:
                tests.append(nested)
        elif test.operator in _TESTS:
            tests.append({"field": test.key, _TESTS[test.operator]: test.value})
        elif test.operator in _BOUNDS:
            tests.append({"field": test.key, "range": {_BOUNDS[test.operator]: test.value}})
        elif test.operator == FilterOperator.NIN:
            tests.append({"not": {"field": test.key, "in": test.value}})
        elif test.operator == FilterOperator.IS_EMPTY:
            tests.append({"field": test.key, "exists": False})
        else:
            raise NotImplementedError(f"mrl filters have no {test.operator.value!r}: use ==, !=, >, >=, <, <=, in, nin or is_empty")
    if filters.condition == FilterCondition.NOT:
        return {"not": {"and": tests}}
    if len(tests) == 1:
        return tests[0]
    return {"or": tests} if filters.condition == FilterCondition.OR else {"and": tests}


class MrlEmbedding(BaseEmbedding):
    """mrl's own model as a LlamaIndex embedding (POST /embed): with ``index``, the vectors
    that index stores for those texts (up to the float rounding of the encoder's batches)."""

    index: str | None = None
    _client: Client = PrivateAttr()
    _async_client: AsyncClient = PrivateAttr()

    def __init__(self, index: str | None = None, *, socket: str | None = None, **kwargs: Any) -> None:
        super().__init__(index=index, model_name="mrl", **kwargs)
        self._client = Client(socket)
        self._async_client = AsyncClient(socket or self._client.socket)

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._client.embed(texts, index=self.index)["vectors"]

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return (await self._async_client.embed(texts, index=self.index))["vectors"]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return (await self._aget_text_embeddings([text]))[0]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._get_text_embedding(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return await self._aget_text_embedding(query)


class MrlVectorStore(BasePydanticVectorStore):
    """The nodes of the mrl index ``index`` (created when missing: of ``dimensions`` for your
    own model's vectors, else of the built-in model). Queries by vector, or by text
    (``is_embedding_query=False``: mrl embeds the query itself)."""

    stores_text: bool = True
    is_embedding_query: bool = True
    index: str
    batch_size: int = 1000
    _client: Client = PrivateAttr()
    _async_client: AsyncClient = PrivateAttr()

    def __init__(
        self,
        index: str,
        *,
        socket: str | None = None,
        client: Client | None = None,
        async_client: AsyncClient | None = None,
        dimensions: int | None = None,
        create_index: bool = True,
        is_embedding_query: bool = True,
        batch_size: int = 1000,
    ) -> None:
        super().__init__(index=index, is_embedding_query=is_embedding_query, batch_size=batch_size)
        self._client = client or Client(socket)
        self._async_client = async_client or AsyncClient(socket or self._client.socket)
        if create_index:
            ensure_index(self._client, index, dimensions)

    @property
    def client(self) -> Client:
        return self._client

    @property
    def async_client(self) -> AsyncClient:
        return self._async_client

    # Writes

    @staticmethod
    def _input(node: BaseNode, id: str) -> DocumentInput:
        meta = node_to_metadata_dict(node, remove_text=True)
        if node.ref_doc_id is not None:
            meta.setdefault("parent", node.ref_doc_id)
        document: DocumentInput = {"id": id, "text": node.get_content(), "meta": meta}
        if node.embedding is not None:
            document["vector"] = list(node.embedding)
        return document

    @staticmethod
    def _placed(nodes: Sequence[BaseNode]) -> tuple[list[str], dict[str, list[int]]]:
        """The nodes' ids: their own where they have no source document or already carry one of
        its ids REF#N; and the positions, by source document, of the nodes that need an id."""
        ids = [node.node_id for node in nodes]
        unplaced: dict[str, list[int]] = {}
        for position, node in enumerate(nodes):
            ref_doc_id = node.ref_doc_id
            if ref_doc_id is not None and not node.node_id.startswith(f"{ref_doc_id}#"):
                unplaced.setdefault(ref_doc_id, []).append(position)
        return ids, unplaced

    def _free_ids(self, ref_doc_id: str, wanted: int, taken: set[str]) -> list[str]:
        """``wanted`` ids REF#N neither stored nor ``taken``, lowest first."""
        free: list[str] = []
        start = 0
        while len(free) < wanted:
            missing = self._client.get_documents(self.index, _window(ref_doc_id, start))["missing"]
            free += [id for id in missing if id not in taken]
            start += WINDOW
        return free[:wanted]

    async def _afree_ids(self, ref_doc_id: str, wanted: int, taken: set[str]) -> list[str]:
        free: list[str] = []
        start = 0
        while len(free) < wanted:
            missing = (await self._async_client.get_documents(self.index, _window(ref_doc_id, start)))["missing"]
            free += [id for id in missing if id not in taken]
            start += WINDOW
        return free[:wanted]

    def _inputs(self, nodes: Sequence[BaseNode], ids: list[str]) -> list[list[DocumentInput]]:
        documents = [self._input(node, id) for node, id in zip(nodes, ids)]
        return [documents[start : start + self.batch_size] for start in range(0, len(documents), self.batch_size)]

    def add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        ids, unplaced = self._placed(nodes)
        for ref_doc_id, positions in unplaced.items():
            for position, id in zip(positions, self._free_ids(ref_doc_id, len(positions), set(ids))):
                ids[position] = id
        for batch in self._inputs(nodes, ids):
            self._client.upsert_documents(self.index, batch)
        return ids

    async def async_add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        ids, unplaced = self._placed(nodes)
        for ref_doc_id, positions in unplaced.items():
            for position, id in zip(positions, await self._afree_ids(ref_doc_id, len(positions), set(ids))):
                ids[position] = id
        for batch in self._inputs(nodes, ids):
            await self._async_client.upsert_documents(self.index, batch)
        return ids

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Deletes the nodes of the source document ``ref_doc_id``."""
        start = 0
        while self._client.delete_documents(self.index, _window(ref_doc_id, start))["deleted"]:
            start += WINDOW

    async def adelete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        start = 0
        while (await self._async_client.delete_documents(self.index, _window(ref_doc_id, start)))["deleted"]:
            start += WINDOW

    def delete_nodes(self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None, **delete_kwargs: Any) -> None:
        _no_filters(filters)
        if node_ids:
            self._client.delete_documents(self.index, node_ids)

    async def adelete_nodes(self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None, **delete_kwargs: Any) -> None:
        _no_filters(filters)
        if node_ids:
            await self._async_client.delete_documents(self.index, node_ids)

    def clear(self) -> None:
        empty_index(self._client, self.index)

    async def aclear(self) -> None:
        await aempty_index(self._async_client, self.index)

    # Reads

    def get_nodes(self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None) -> list[BaseNode]:
        _no_filters(filters)
        if not node_ids:
            return []
        return [_node(found) for found in self._client.get_documents(self.index, node_ids)["documents"]]

    async def aget_nodes(self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None) -> list[BaseNode]:
        _no_filters(filters)
        if not node_ids:
            return []
        return [_node(found) for found in (await self._async_client.get_documents(self.index, node_ids))["documents"]]

    @staticmethod
    def _search(query: VectorStoreQuery, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The search request of a LlamaIndex query; mrl's search keywords come in ``kwargs``."""
        if query.doc_ids or query.node_ids:
            raise NotImplementedError("mrl searches the whole index: query without doc_ids or node_ids")
        if query.mode not in (VectorStoreQueryMode.DEFAULT, VectorStoreQueryMode.MMR):
            raise NotImplementedError(f"mrl answers the default and mmr query modes, not {query.mode.value}")
        mmr = query.mode == VectorStoreQueryMode.MMR
        if query.query_embedding is not None:
            target: dict[str, Any] = {"vector": query.query_embedding}
        elif query.query_str is not None and not mmr:
            target = {"query": query.query_str}
        else:
            raise ValueError("a query needs query_embedding (or, but for mmr, query_str)")
        k = query.similarity_top_k
        return {**target, "k": max(k, kwargs.pop("mmr_prefetch_k", 4 * k)) if mmr else k, "include_text": True, "include_vectors": mmr or None,
                "filter": _mrl_filter(query.filters), **kwargs}

    @staticmethod
    def _result(query: VectorStoreQuery, result: SearchResult) -> VectorStoreQueryResult:
        hits = result["hits"]
        if query.mode == VectorStoreQueryMode.MMR:
            lambda_mult = 0.5 if query.mmr_threshold is None else query.mmr_threshold
            picks = maximal_marginal_relevance(query.query_embedding or [], [hit["vector"] for hit in hits], query.similarity_top_k, lambda_mult)
            hits = [hits[i] for i in picks]
        return VectorStoreQueryResult(nodes=[_node(hit) for hit in hits], similarities=[hit["score"] for hit in hits], ids=[hit["id"] for hit in hits])

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        return self._result(query, self._client.search(self.index, **self._search(query, kwargs)))

    async def aquery(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        return self._result(query, await self._async_client.search(self.index, **self._search(query, kwargs)))
