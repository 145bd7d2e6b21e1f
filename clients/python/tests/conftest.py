"""A real `mrl serve` for the tests: from $MRL_BIN (default: the repo's debug build), on a
temporary socket and data folder, with the repo root as working directory so `models/` is found."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import mrl

REPO = Path(__file__).resolve().parents[3]
MRL_BIN = os.environ.get("MRL_BIN") or str(REPO / ".build" / "debug" / "mrl")
STARTUP_SECONDS = 60


class Daemon:
    """One `mrl serve` process; `stop()` ends it (SIGTERM, then SIGKILL)."""

    def __init__(self, folder: Path, *options: str, binary: str = MRL_BIN) -> None:
        self.data = folder / "data"
        self.socket = str(folder / "mrl.sock")
        self.log = folder / "serve.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [binary, "serve", "--data", str(self.data), "--socket", self.socket, *options],
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mrl serve exited with {self.process.returncode}: {self.log.read_text()}")
            try:
                with httpx.Client(transport=httpx.HTTPTransport(uds=self.socket), base_url="http://mrl") as http:
                    http.get("/health")  # any answer, 403 too, means it listens
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"mrl serve did not answer within {STARTUP_SECONDS} s: {self.log.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="session")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """The daemon most tests share; each test makes its own indexes (see `index_name`)."""
    running = Daemon(tmp_path_factory.mktemp("mrl"))
    yield running
    running.stop()


@pytest.fixture
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Starts a daemon of its own with the given `mrl serve` options, stopped after the test."""
    started: list[Daemon] = []

    def start(*options: str, binary: str = MRL_BIN) -> Daemon:
        started.append(Daemon(tmp_path_factory.mktemp("mrl"), *options, binary=binary))
        return started[-1]

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def client(daemon: Daemon) -> Iterator[mrl.Client]:
    with mrl.Client(daemon.socket) as opened:
        yield opened


@pytest.fixture
async def aclient(daemon: Daemon):
    async with mrl.AsyncClient(daemon.socket) as opened:
        yield opened


def new_index_name() -> str:
    return "t" + uuid.uuid4().hex[:16]
