"""Python client of the mrl daemon: ``Client`` (sync) and ``AsyncClient`` (asyncio) over its
Unix socket, one method per route of api/openapi.json; errors are ``mrl.errors`` exceptions."""

from .client import AsyncClient, Client, RetryPolicy
from .daemon import LocalDaemon
from .discovery import default_socket_path
from .errors import (
    BadRequest,
    Conflict,
    DaemonUnreachable,
    DocumentNotFound,
    Forbidden,
    IndexExists,
    IndexNotFound,
    Internal,
    MethodNotAllowed,
    ModelUnavailable,
    MrlError,
    NoSpace,
    NotFound,
    Overloaded,
    TooLarge,
)

__all__ = [
    "AsyncClient",
    "BadRequest",
    "Client",
    "Conflict",
    "DaemonUnreachable",
    "DocumentNotFound",
    "Forbidden",
    "IndexExists",
    "IndexNotFound",
    "Internal",
    "LocalDaemon",
    "MethodNotAllowed",
    "ModelUnavailable",
    "MrlError",
    "NoSpace",
    "NotFound",
    "Overloaded",
    "RetryPolicy",
    "TooLarge",
    "default_socket_path",
]
