"""A private ``mrl serve``: its own socket (and data folder, unless given), started and stopped
from Python. What tests, notebooks and each Ray actor of ``mrl_ray`` run: an encoder, or one copy
of a shard."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from .client import AsyncClient, Client

STARTUP_SECONDS = 120


def mrl_binary(binary: str | None = None) -> str:
    """``binary``, else ``$MRL_BIN``, else ``mrl`` on ``$PATH``; raises naming what to do."""
    found = binary or os.environ.get("MRL_BIN") or shutil.which("mrl")
    if not found or not os.access(found, os.X_OK):
        raise FileNotFoundError(
            f"no mrl executable ({found or 'not on PATH'}): install mrl (make install), or set MRL_BIN"
        )
    return found


def run_mrl(binary: str | None, *arguments: str) -> str:
    """Runs one mrl command and returns its standard output; raises with its error output."""
    done = subprocess.run([mrl_binary(binary), *arguments], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"mrl {' '.join(arguments[:1])} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout


class LocalDaemon:
    """``mrl serve`` on ``data`` (default: a ``data`` folder beside its socket) with ``options``
    (``"--threads", "1"``...), answering on a socket in ``folder`` (default: a new temporary
    folder, removed by ``stop``), where its log goes too.

    ``encoder_threads`` is the cores its encoder splits each text batch across
    (``$MRL_ENCODER_THREADS``): 1 for a Ray actor of one CPU, so that actors do not fight for cores.

    >>> daemon = LocalDaemon(None, "--threads", "1")
    >>> with daemon.client() as client: client.embed(["a pdf viewer"])["dimensions"]
    384
    >>> daemon.stop()
    """

    def __init__(
        self,
        data: str | os.PathLike[str] | None = None,
        *options: str,
        binary: str | None = None,
        folder: str | os.PathLike[str] | None = None,
        encoder_threads: int | None = None,
    ) -> None:
        # Unix socket paths are short (108 bytes): by default the socket lives in a short temporary folder.
        self._owns_folder = folder is None
        self.folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="mrl-"))
        self.data = Path(data) if data is not None else self.folder / "data"
        self.socket = str(self.folder / "mrl.sock")
        self.log = self.folder / "serve.log"
        command = [mrl_binary(binary), "serve", "--data", str(self.data), "--socket", self.socket, *options]
        env = dict(os.environ)
        if encoder_threads is not None:
            env["MRL_ENCODER_THREADS"] = str(encoder_threads)
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mrl serve exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with httpx.Client(transport=httpx.HTTPTransport(uds=self.socket), base_url="http://mrl", timeout=5) as http:
                    http.get("/health")  # any answer, 403 too, means it listens
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"mrl serve did not answer within {STARTUP_SECONDS} s: {self.log.read_text()[-2000:]}")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def client(self, timeout: float = 600.0) -> Client:
        return Client(self.socket, timeout=timeout)

    def async_client(self, timeout: float = 600.0) -> AsyncClient:
        return AsyncClient(self.socket, timeout=timeout)

    def stop(self) -> None:
        """SIGTERM (it finishes the requests in flight), SIGKILL after 20 s; removes the folder it made."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._owns_folder:
            shutil.rmtree(self.folder, ignore_errors=True)
