"""A LangChain ``VectorStore`` over an mrl index (``pip install 'mrl-client[langchain]'``).

Two modes: without an ``Embeddings`` the daemon embeds texts and queries itself (the built-in
model, offline); with one, its vectors are stored in an index of its dimension. Searches take
mrl's own keywords (``budget_ms``, ``preset``, ``dims``, ``deadline_ms``, ``ef``, ``group_by``);
the plan and ``partial`` come only from ``similarity_search_with_plan``, never in metadata.

>>> store = MrlVectorStore("notes")                       # mrl embeds
>>> store.add_texts(["rotate a pdf page"], metadatas=[{"path": "a.md"}])
>>> store.similarity_search("turn a page of a pdf", k=1, budget_ms=0.5)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Callable

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore

from .client import AsyncClient, Client
from .indexes import aempty_index, empty_index, ensure_index
from .mmr import maximal_marginal_relevance
from .types import Document as StoredDocument
from .types import DocumentInput, Hit, SearchResult

Scored = list[tuple[Document, float]]


def _document(record: Hit | StoredDocument) -> Document:
    return Document(id=record["id"], page_content=record.get("text", ""), metadata=record.get("meta", {}))


def _documents(result: SearchResult) -> Scored:
    return [(_document(hit), hit["score"]) for hit in result["hits"]]


def _plan(result: SearchResult) -> dict[str, Any]:
    """What a search says of itself: plan, partial, predicted_ms, predicted_recall, took_ms, cost."""
    return {key: value for key, value in result.items() if key != "hits"}


def _mrl_filter(filter: Any) -> dict[str, Any] | None:
    """LangChain's ``filter=`` as mrl's: mrl's own filter language as it is (a dict with
    ``field``, ``and``, ``or`` or ``not``), else ``{key: value, ...}`` as every key equal to its
    value (a list: any of its values)."""
    if filter is None:
        return None
    if not isinstance(filter, dict):
        raise TypeError("filter= takes a dict: {key: value, ...}, or mrl's filter language ({\"field\": ..., \"eq\": ...})")
    if filter.keys() & {"field", "and", "or", "not"}:
        return filter
    tests = [{"field": key, "in": list(value)} if isinstance(value, (list, tuple)) else {"field": key, "eq": value} for key, value in filter.items()]
    return tests[0] if len(tests) == 1 else {"and": tests}


class MrlVectorStore(VectorStore):
    """Documents of the mrl index ``index``; its ids are the documents' ids.

    ``create_index`` (default) creates the index when it is missing: of the dimension of
    ``embedding`` (or ``dimensions``), or of the built-in model without one.
    """

    def __init__(
        self,
        index: str,
        embedding: Embeddings | None = None,
        *,
        client: Client | None = None,
        async_client: AsyncClient | None = None,
        socket: str | None = None,
        dimensions: int | None = None,
        create_index: bool = True,
        batch_size: int = 1000,
    ) -> None:
        self.index = index
        self.embedding = embedding
        self.client = client or Client(socket)
        self.async_client = async_client or AsyncClient(socket or self.client.socket)
        self.batch_size = batch_size
        if create_index:
            if dimensions is None and embedding is not None:
                dimensions = len(embedding.embed_query("the embedding's dimension"))
            ensure_index(self.client, index, dimensions)

    @property
    def embeddings(self) -> Embeddings | None:
        return self.embedding

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings | None = None,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        index: str = "langchain",
        **kwargs: Any,
    ) -> MrlVectorStore:
        store = cls(index, embedding, **kwargs)
        store.add_texts(texts, metadatas, ids=ids)
        return store

    @classmethod
    async def afrom_texts(
        cls,
        texts: list[str],
        embedding: Embeddings | None = None,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        index: str = "langchain",
        **kwargs: Any,
    ) -> MrlVectorStore:
        store = cls(index, embedding, **kwargs)
        await store.aadd_texts(texts, metadatas, ids=ids)
        return store

    # Writes

    def _batches(self, texts: list[str], metadatas: list[dict] | None, ids: Sequence[str | None] | None, vectors: list[list[float]] | None) -> tuple[list[str], list[list[DocumentInput]]]:
        """The ids (made up where missing) and the upserts, ``batch_size`` documents each."""
        if metadatas is not None and len(metadatas) != len(texts):
            raise ValueError(f"{len(metadatas)} metadatas for {len(texts)} texts: give one each")
        if ids is not None and len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids for {len(texts)} texts: give one each")
        chosen = [id or str(uuid.uuid4()) for id in (ids or [None] * len(texts))]
        documents: list[DocumentInput] = []
        for n, (id, text) in enumerate(zip(chosen, texts)):
            document: DocumentInput = {"id": id, "text": text, "meta": dict(metadatas[n]) if metadatas else {}}
            if vectors is not None:
                document["vector"] = list(vectors[n])
            documents.append(document)
        return chosen, [documents[start : start + self.batch_size] for start in range(0, len(documents), self.batch_size)]

    def add_texts(self, texts: Iterable[str], metadatas: list[dict] | None = None, *, ids: list[str] | None = None, **kwargs: Any) -> list[str]:
        texts = list(texts)
        vectors = self.embedding.embed_documents(texts) if self.embedding and texts else None
        ids, batches = self._batches(texts, metadatas, ids, vectors)
        for batch in batches:
            self.client.upsert_documents(self.index, batch)
        return ids

    async def aadd_texts(self, texts: Iterable[str], metadatas: list[dict] | None = None, *, ids: list[str] | None = None, **kwargs: Any) -> list[str]:
        texts = list(texts)
        vectors = await self.embedding.aembed_documents(texts) if self.embedding and texts else None
        ids, batches = self._batches(texts, metadatas, ids, vectors)
        for batch in batches:
            await self.async_client.upsert_documents(self.index, batch)
        return ids

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool:
        """Deletes ``ids`` (those missing are passed over), or with None every document."""
        if ids is None:
            empty_index(self.client, self.index)
        elif ids:
            self.client.delete_documents(self.index, ids)
        return True

    async def adelete(self, ids: list[str] | None = None, **kwargs: Any) -> bool:
        if ids is None:
            await aempty_index(self.async_client, self.index)
        elif ids:
            await self.async_client.delete_documents(self.index, ids)
        return True

    # Reads

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        if not ids:
            return []
        return [_document(found) for found in self.client.get_documents(self.index, list(ids))["documents"]]

    async def aget_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        if not ids:
            return []
        return [_document(found) for found in (await self.async_client.get_documents(self.index, list(ids)))["documents"]]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        return lambda cosine: (1.0 + cosine) / 2.0

    def _query_vector(self, query: str) -> list[float] | None:
        """The query's vector when this store embeds, else None (the daemon embeds the text)."""
        return self.embedding.embed_query(query) if self.embedding else None

    async def _aquery_vector(self, query: str) -> list[float] | None:
        return await self.embedding.aembed_query(query) if self.embedding else None

    @staticmethod
    def _query(text: str, vector: list[float] | None) -> dict[str, Any]:
        return {"query": text} if vector is None else {"vector": vector}

    def similarity_search_with_plan(self, query: str, k: int = 4, filter: Any = None, **kwargs: Any) -> tuple[Scored, dict[str, Any]]:
        """The documents with their cosine scores, and what the search says of itself (plan,
        partial, predicted_ms, predicted_recall, took_ms, cost)."""
        result = self.client.search(self.index, filter=_mrl_filter(filter), **self._query(query, self._query_vector(query)), k=k, include_text=True, **kwargs)
        return _documents(result), _plan(result)

    async def asimilarity_search_with_plan(self, query: str, k: int = 4, filter: Any = None, **kwargs: Any) -> tuple[Scored, dict[str, Any]]:
        result = await self.async_client.search(self.index, filter=_mrl_filter(filter), **self._query(query, await self._aquery_vector(query)), k=k, include_text=True, **kwargs)
        return _documents(result), _plan(result)

    def similarity_search_with_score(self, query: str, k: int = 4, filter: Any = None, **kwargs: Any) -> Scored:
        return self.similarity_search_with_plan(query, k, filter, **kwargs)[0]

    async def asimilarity_search_with_score(self, query: str, k: int = 4, filter: Any = None, **kwargs: Any) -> Scored:
        return (await self.asimilarity_search_with_plan(query, k, filter, **kwargs))[0]

    def similarity_search(self, query: str, k: int = 4, filter: Any = None, **kwargs: Any) -> list[Document]:
        return [document for document, _ in self.similarity_search_with_score(query, k, filter, **kwargs)]

    async def asimilarity_search(self, query: str, k: int = 4, filter: Any = None, **kwargs: Any) -> list[Document]:
        return [document for document, _ in await self.asimilarity_search_with_score(query, k, filter, **kwargs)]

    def similarity_search_by_vector(self, embedding: list[float], k: int = 4, filter: Any = None, **kwargs: Any) -> list[Document]:
        result = self.client.search(self.index, filter=_mrl_filter(filter), vector=embedding, k=k, include_text=True, **kwargs)
        return [document for document, _ in _documents(result)]

    async def asimilarity_search_by_vector(self, embedding: list[float], k: int = 4, filter: Any = None, **kwargs: Any) -> list[Document]:
        result = await self.async_client.search(self.index, filter=_mrl_filter(filter), vector=embedding, k=k, include_text=True, **kwargs)
        return [document for document, _ in _documents(result)]

    # Maximal marginal relevance: the daemon gives each candidate's stored vector

    @staticmethod
    def _pick(query: list[float], result: SearchResult, k: int, lambda_mult: float) -> list[Document]:
        hits = result["hits"]
        return [_document(hits[i]) for i in maximal_marginal_relevance(query, [hit["vector"] for hit in hits], k, lambda_mult)]

    def max_marginal_relevance_search_by_vector(self, embedding: list[float], k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5, filter: Any = None, **kwargs: Any) -> list[Document]:
        result = self.client.search(self.index, filter=_mrl_filter(filter), vector=embedding, k=max(k, fetch_k), include_text=True, include_vectors=True, **kwargs)
        return self._pick(embedding, result, k, lambda_mult)

    async def amax_marginal_relevance_search_by_vector(self, embedding: list[float], k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5, filter: Any = None, **kwargs: Any) -> list[Document]:
        result = await self.async_client.search(self.index, filter=_mrl_filter(filter), vector=embedding, k=max(k, fetch_k), include_text=True, include_vectors=True, **kwargs)
        return self._pick(embedding, result, k, lambda_mult)

    def max_marginal_relevance_search(self, query: str, k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5, **kwargs: Any) -> list[Document]:
        vector = self._query_vector(query) or self.client.embed([query], index=self.index)["vectors"][0]
        return self.max_marginal_relevance_search_by_vector(vector, k, fetch_k, lambda_mult, **kwargs)

    async def amax_marginal_relevance_search(self, query: str, k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5, **kwargs: Any) -> list[Document]:
        vector = await self._aquery_vector(query) or (await self.async_client.embed([query], index=self.index))["vectors"][0]
        return await self.amax_marginal_relevance_search_by_vector(vector, k, fetch_k, lambda_mult, **kwargs)
