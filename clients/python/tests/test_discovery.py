"""The client finds the socket as the CLI does (Sources/mrl/DaemonSocket.swift)."""

from __future__ import annotations

import os
import socket as sockets

import pytest

import mrl


@pytest.fixture
def environment(monkeypatch, tmp_path):
    for name in ("MRL_SOCKET", "XDG_RUNTIME_DIR", "MRL_DATA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_the_order_is_mrl_socket_then_xdg_runtime_dir_then_the_data_folder(environment) -> None:
    assert mrl.default_socket_path() == os.path.join("indexes", "mrl.sock")
    environment.setenv("MRL_DATA", "/srv/mrl")
    assert mrl.default_socket_path() == "/srv/mrl/mrl.sock"
    environment.setenv("XDG_RUNTIME_DIR", "/run/user/7")
    assert mrl.default_socket_path() == "/run/user/7/mrl.sock"
    environment.setenv("MRL_SOCKET", "/tmp/x.sock")
    assert mrl.default_socket_path() == "/tmp/x.sock"


def test_the_default_socket_finds_a_running_daemon(environment, daemon) -> None:
    environment.setenv("MRL_SOCKET", daemon.socket)
    with mrl.Client() as client:
        assert client.health()["pid"] == daemon.process.pid


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a socket to another uid needs root")
def test_a_default_socket_of_another_user_is_refused_unless_named(environment, tmp_path) -> None:
    (tmp_path / "indexes").mkdir()
    path = tmp_path / "indexes" / "mrl.sock"
    listener = sockets.socket(sockets.AF_UNIX)
    listener.bind(str(path))
    os.chown(path, os.geteuid() + 1, -1)
    with pytest.raises(PermissionError, match="belongs to uid"):
        mrl.Client()
    assert mrl.Client(str(path)).socket == str(path)
    environment.setenv("MRL_SOCKET", str(path))
    assert mrl.Client().socket == str(path)
    listener.close()
