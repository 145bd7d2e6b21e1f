"""LangChain's own standard suite for vector stores, run twice against a real daemon: with the
suite's DeterministicFakeEmbedding(size=6) on a 6-d index, and with mrl embedding the texts
itself. Nothing of the suite is overridden but the fixture it asks for."""

from __future__ import annotations

import pytest
from langchain_tests.integration_tests import VectorStoreIntegrationTests

from conftest import new_index_name
from mrl.langchain import MrlVectorStore


@pytest.fixture
def store_for(daemon):
    """Makes a store on a new index of the shared daemon; drops the indexes after the test."""
    stores: list[MrlVectorStore] = []

    def make(embedding) -> MrlVectorStore:
        stores.append(MrlVectorStore(new_index_name(), embedding, socket=daemon.socket))
        return stores[-1]

    yield make
    for store in stores:
        store.client.drop_index(store.index)
        store.client.close()


class TestWithGivenEmbeddings(VectorStoreIntegrationTests):
    @pytest.fixture
    def vectorstore(self, store_for) -> MrlVectorStore:
        return store_for(self.get_embeddings())


class TestWithMrlEmbedding(VectorStoreIntegrationTests):
    @pytest.fixture
    def vectorstore(self, store_for) -> MrlVectorStore:
        return store_for(None)
