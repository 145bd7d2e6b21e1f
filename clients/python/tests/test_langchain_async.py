"""The LangChain store's async path is the async client on the event loop, not LangChain's
default of running the sync method in a thread executor."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import mrl
from conftest import new_index_name
from mrl.langchain import MrlVectorStore

TOPICS = {
    "pdf": "A viewer for PDF documents: zoom, search and print pages",
    "ssh": "Secure shell client for remote logins over an encrypted connection",
    "gimp": "Image editor for retouching photographs and drawing",
}
QUERIES = {"print a pdf page": "pdf", "log in to a remote machine": "ssh", "retouch a photo": "gimp"}


class NoThreads(ThreadPoolExecutor):
    """An executor that fails whatever is handed to it."""

    def submit(self, fn, /, *args, **kwargs):
        raise AssertionError(f"{fn} was sent to a thread executor")


def open_connections(client: mrl.Client) -> float:
    line = next(line for line in client.metrics().splitlines() if line.startswith("mrl_connections "))
    return float(line.split()[-1])


async def test_many_concurrent_searches_run_on_one_event_loop(serve) -> None:
    daemon = serve()  # its own, so that its connections are only this test's
    store = MrlVectorStore(new_index_name(), socket=daemon.socket)
    await store.aadd_texts(list(TOPICS.values()), ids=list(TOPICS))
    asyncio.get_running_loop().set_default_executor(NoThreads())
    threads = threading.active_count()
    queries = list(QUERIES) * 40
    answers = await asyncio.gather(*(store.asimilarity_search(query, k=1) for query in queries))
    assert [answer[0].id for answer in answers] == [QUERIES[query] for query in queries]
    assert threading.active_count() == threads
    # Searches that overlapped needed connections of their own: beside the sync client's one,
    # the async client's pool opened several.
    assert open_connections(store.client) > 2
    store.client.drop_index(store.index)
    await store.async_client.aclose()
