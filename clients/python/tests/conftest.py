"""A real `mrl serve` for the tests (`mrl.LocalDaemon`): from $MRL_BIN (default: the build `make test`
makes, in .build-test), on a temporary socket and data folder."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import mrl
from mrl import LocalDaemon

REPO = Path(__file__).resolve().parents[3]
MRL_BIN = os.environ.get("MRL_BIN") or str(REPO / ".build-test" / "release" / "mrl")


@pytest.fixture(scope="session")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDaemon]:
    """The daemon most tests share; each test makes its own indexes (see `index_name`)."""
    folder = tmp_path_factory.mktemp("mrl")
    running = LocalDaemon(folder / "data", binary=MRL_BIN, folder=folder)
    yield running
    running.stop()


@pytest.fixture
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Starts a daemon of its own with the given `mrl serve` options, stopped after the test."""
    started: list[LocalDaemon] = []

    def start(*options: str, binary: str = MRL_BIN) -> LocalDaemon:
        folder = tmp_path_factory.mktemp("mrl")
        started.append(LocalDaemon(folder / "data", *options, binary=binary, folder=folder))
        return started[-1]

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def client(daemon: LocalDaemon) -> Iterator[mrl.Client]:
    with mrl.Client(daemon.socket) as opened:
        yield opened


@pytest.fixture
async def aclient(daemon: LocalDaemon):
    async with mrl.AsyncClient(daemon.socket) as opened:
        yield opened


def new_index_name() -> str:
    return "t" + uuid.uuid4().hex[:16]
