"""Where the daemon listens, found as the ``mrl`` CLI finds it (Sources/mrl/DaemonSocket.swift)."""

from __future__ import annotations

import os
import stat


def default_socket_path() -> str:
    """``$MRL_SOCKET``, else ``$XDG_RUNTIME_DIR/mrl.sock``, else ``mrl.sock`` in the data folder
    (``$MRL_DATA``, else ``indexes/`` of the working directory)."""
    explicit = os.environ.get("MRL_SOCKET")
    if explicit:
        return explicit
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "mrl.sock")
    return os.path.join(os.environ.get("MRL_DATA") or "indexes", "mrl.sock")


def resolve_socket(socket: str | os.PathLike[str] | None = None) -> str:
    """The given path, else the default one. Like the CLI, a default socket that another user
    owns is refused (unless ``$MRL_SOCKET`` names it), so that a socket someone left in a
    shared folder never receives this user's documents."""
    if socket is not None:
        return os.fspath(socket)
    path = default_socket_path()
    try:
        info = os.stat(path)
    except OSError:
        return path  # not there yet: connecting says so, naming the path
    if stat.S_ISSOCK(info.st_mode) and info.st_uid != os.geteuid() and not os.environ.get("MRL_SOCKET"):
        raise PermissionError(f"not using the socket {path}: it belongs to uid {info.st_uid}, not you (pass socket={path!r} to use it)")
    return path
