"""Every error status of api/openapi.json, from a real daemon, as the client's exceptions."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import socket as sockets
import threading
import time

import pytest

import mrl
from conftest import MRL_BIN, REPO, new_index_name

SPEC = json.loads((REPO / "api" / "openapi.json").read_text())


def test_the_spec_has_no_error_status_these_tests_miss() -> None:
    statuses = {int(status) for item in SPEC["paths"].values() for op in item.values() if isinstance(op, dict) for status in op.get("responses", {}) if status >= "400"}
    assert statuses == {400, 403, 404, 405, 409, 413, 503, 507}


def test_400_bad_request_names_the_field(client: mrl.Client) -> None:
    name = new_index_name()
    client.create_index(name)
    with pytest.raises(mrl.BadRequest) as caught:
        client.search(name, query="x", k=0)
    assert (caught.value.status, caught.value.code) == (400, "bad_request")
    assert '"k"' in caught.value.message


def test_403_forbidden_for_a_uid_not_let_in(serve) -> None:
    daemon = serve("--allow-uid", str(os.geteuid() + 1))
    with mrl.Client(daemon.socket) as client, pytest.raises(mrl.Forbidden) as caught:
        client.list_indexes()
    assert (caught.value.status, caught.value.code) == (403, "forbidden")


def test_404_tells_a_missing_index_from_a_missing_document_and_route(client: mrl.Client) -> None:
    with pytest.raises(mrl.IndexNotFound) as no_index:
        client.get_index(new_index_name())
    name = new_index_name()
    client.create_index(name)
    with pytest.raises(mrl.DocumentNotFound) as no_document:
        client.get_document(name, "nope")
    with pytest.raises(mrl.NotFound) as no_route:
        client.request("GET", "/no/such/route")
    assert [e.value.code for e in (no_index, no_document, no_route)] == ["index_not_found", "document_not_found", "not_found"]
    assert {e.value.status for e in (no_index, no_document, no_route)} == {404}


def test_405_method_not_allowed(client: mrl.Client) -> None:
    with pytest.raises(mrl.MethodNotAllowed) as caught:
        client.request("PATCH", "/indexes")
    assert (caught.value.status, caught.value.code) == (405, "method_not_allowed")


def test_409_an_index_that_exists(client: mrl.Client) -> None:
    name = new_index_name()
    client.create_index(name)
    with pytest.raises(mrl.IndexExists) as caught:
        client.create_index(name)
    assert (caught.value.status, caught.value.code) == (409, "exists")
    assert isinstance(caught.value, mrl.Conflict)


def test_413_a_batch_over_1024_queries(client: mrl.Client) -> None:
    name = new_index_name()
    client.create_index(name, dimensions=2)
    with pytest.raises(mrl.TooLarge) as caught:
        client.search_batch(name, [{"vector": [1.0, 0.0]}] * 1025)
    assert (caught.value.status, caught.value.code) == (413, "too_large")


def test_507_no_space_past_the_size_cap(serve) -> None:
    daemon = serve("--max-size", "1M")
    with mrl.Client(daemon.socket) as client:
        client.create_index("full", dimensions=2)
        documents = [{"id": str(n), "vector": [1.0, float(n)], "text": "x" * 5000} for n in range(300)]
        with pytest.raises(mrl.NoSpace) as caught:
            client.upsert_documents("full", documents)
        assert (caught.value.status, caught.value.code) == (507, "no_space")
        assert client.get_index("full")["documents"] == 0


def hold_the_only_connection(path: str) -> sockets.socket:
    """A connection that the daemon has let in and keeps (it may not yet have seen the start-up
    probe's connection close, and refuses this one until then)."""
    for _ in range(100):
        held = sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM)
        held.connect(path)
        try:
            held.sendall(b"GET /health HTTP/1.1\r\nHost: mrl\r\n\r\n")
            if b"200 OK" in held.recv(4096):
                return held
        except OSError:
            pass  # refused: the daemon answered 503 and closed before the request was written
        held.close()
        time.sleep(0.05)
    raise AssertionError(f"the daemon on {path} never let a connection in")


def test_503_overloaded_raised_once_retries_are_spent(serve) -> None:
    daemon = serve("--max-connections", "1")
    held = hold_the_only_connection(daemon.socket)
    with mrl.Client(daemon.socket, retry=mrl.RetryPolicy(retries=0)) as client, pytest.raises(mrl.Overloaded) as caught:
        client.health()
    held.close()
    assert (caught.value.status, caught.value.code) == (503, "overloaded")
    assert caught.value.retry_after is not None and caught.value.retry_after > 0


def overloaded_answers(client: mrl.Client) -> float:
    line = next(line for line in client.metrics().splitlines() if line.startswith("mrl_overloaded_total"))
    return float(line.split()[-1])


def test_503_is_retried_after_retry_after_until_it_goes_through(serve) -> None:
    daemon = serve("--max-connections", "1")
    held = hold_the_only_connection(daemon.socket)
    release = threading.Timer(0.5, held.close)
    release.start()
    with mrl.Client(daemon.socket, retry=mrl.RetryPolicy(retries=20, backoff=0.05, max_backoff=0.2)) as client:
        assert client.health()["status"] == "ok"
        assert overloaded_answers(client) >= 1
    release.join()


async def test_503_is_retried_by_the_async_client_too(serve) -> None:
    daemon = serve("--max-connections", "1")
    held = hold_the_only_connection(daemon.socket)
    release = threading.Timer(0.5, held.close)
    release.start()
    async with mrl.AsyncClient(daemon.socket, retry=mrl.RetryPolicy(retries=20, backoff=0.05, max_backoff=0.2)) as client:
        assert (await client.health())["status"] == "ok"
    release.join()


def test_503_without_a_model_is_raised_at_once(serve, tmp_path, monkeypatch) -> None:
    # A copy of the binary away from the repo, and no $MRL_MODEL_DIR: it finds no model.
    monkeypatch.delenv("MRL_MODEL_DIR", raising=False)
    binary = shutil.copy(MRL_BIN, tmp_path / "mrl")
    daemon = serve(binary=str(binary))
    with mrl.Client(daemon.socket) as client:
        client.create_index("texts")
        with pytest.raises(mrl.ModelUnavailable) as caught:
            client.search("texts", query="anything")
        assert (caught.value.status, caught.value.code) == (503, "model_unavailable")
        searches = [line for line in client.metrics().splitlines() if line.startswith('mrl_requests_total{route="/indexes/{name}/search"')]
        assert searches == ['mrl_requests_total{route="/indexes/{name}/search",status="503"} 1'], "asked once, not retried"


def test_no_daemon_says_where_it_looked(tmp_path) -> None:
    path = str(tmp_path / "nobody.sock")
    with mrl.Client(path) as client, pytest.raises(mrl.DaemonUnreachable) as caught:
        client.health()
    assert path in caught.value.message


def test_errors_survive_pickling_whole(client: mrl.Client) -> None:
    """To another process (multiprocessing, a Ray actor's caller) an error goes with its status,
    code and message, not only its text."""
    name = new_index_name()
    client.create_index(name)
    with pytest.raises(mrl.BadRequest) as caught:
        client.search(name, query="x", k=0)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is type(caught.value)
    assert (copy.status, copy.code, copy.message, str(copy)) == (caught.value.status, caught.value.code, caught.value.message, str(caught.value))
    assert copy.is_client_error
    unreachable = pickle.loads(pickle.dumps(mrl.DaemonUnreachable("/nowhere.sock", OSError("refused"))))
    assert unreachable.socket == "/nowhere.sock" and not unreachable.is_client_error
