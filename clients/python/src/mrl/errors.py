"""The API's errors as exceptions: each carries the answer's ``code``, ``message`` and HTTP status.

Catch ``MrlError`` for all of them, a status class (``NotFound``) for a family, or a code class
(``IndexNotFound``, ``DocumentNotFound``) to tell one cause from another.
"""

from __future__ import annotations


class MrlError(Exception):
    """An error answer of the daemon: ``{"error": {"code", "message"}}`` with its status."""

    status: int = 0

    def __init__(self, code: str, message: str, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.retry_after = retry_after

    def __reduce__(self) -> tuple:
        # Pickled whole (to another process: multiprocessing, a Ray actor's caller), not by
        # the one formatted message the base class would keep.
        return (_rebuild, (type(self), self.__dict__))

    @property
    def is_client_error(self) -> bool:
        """The request itself is wrong (a 4xx answer): sending it again, anywhere, will not help."""
        return 400 <= self.status < 500


def _rebuild(cls: type[MrlError], fields: dict) -> MrlError:
    error = Exception.__new__(cls)
    error.__dict__.update(fields)
    error.args = (f"{fields['status']} {fields['code']}: {fields['message']}",)
    return error


class DaemonUnreachable(MrlError):
    """No daemon answers on the socket (not started, or the path is wrong)."""

    def __init__(self, socket: str, cause: Exception) -> None:
        super().__init__("unreachable", f"no mrl daemon answers on {socket} ({cause}): start `mrl serve`, or give the socket's path", 0)
        self.socket = socket


class BadRequest(MrlError):
    status = 400


class Forbidden(MrlError):
    status = 403


class NotFound(MrlError):
    status = 404


class IndexNotFound(NotFound):
    """The index does not exist."""


class DocumentNotFound(NotFound):
    """The index exists; the document does not."""


class MethodNotAllowed(MrlError):
    status = 405


class Conflict(MrlError):
    status = 409


class IndexExists(Conflict):
    """Creating an index that exists."""


class TooLarge(MrlError):
    status = 413


class Internal(MrlError):
    status = 500


class Overloaded(MrlError):
    """503: retried by the client; raised once its retries are spent."""

    status = 503


class ModelUnavailable(MrlError):
    """503 without Retry-After: the daemon has no model to embed texts with (not retried)."""

    status = 503


class NoSpace(MrlError):
    status = 507


_BY_CODE: dict[str, type[MrlError]] = {
    "index_not_found": IndexNotFound,
    "document_not_found": DocumentNotFound,
    "exists": IndexExists,
    "model_unavailable": ModelUnavailable,
}
_BY_STATUS: dict[int, type[MrlError]] = {
    cls.status: cls for cls in (BadRequest, Forbidden, NotFound, MethodNotAllowed, Conflict, TooLarge, Internal, Overloaded, NoSpace)
}


def error_for(status: int, code: str, message: str, retry_after: float | None = None) -> MrlError:
    """The most specific exception for an error answer: by its code, else by its status."""
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status, MrlError)
    return cls(code, message, status, retry_after)
