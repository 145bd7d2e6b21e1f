"""Index set-up shared by the LangChain and LlamaIndex stores."""

from __future__ import annotations

from .client import AsyncClient, Client
from .errors import IndexExists
from .types import IndexInfo


def ensure_index(client: Client, index: str, dimensions: int | None) -> None:
    """Creates ``index`` unless it exists: of ``dimensions`` for vectors of your own model, or
    (None) for texts embedded by the built-in model."""
    try:
        client.create_index(index, dimensions=dimensions)
    except IndexExists:
        pass


def _own_dimensions(info: IndexInfo) -> int | None:
    """The ``dimensions`` that re-create an index like ``info``: None for the built-in model's."""
    return None if info["model"] is not None else info["dimensions"]


def empty_index(client: Client, index: str) -> None:
    """Deletes every document: drops the index and creates it again alike."""
    dimensions = _own_dimensions(client.get_index(index))
    client.drop_index(index)
    client.create_index(index, dimensions=dimensions)


async def aempty_index(client: AsyncClient, index: str) -> None:
    dimensions = _own_dimensions(await client.get_index(index))
    await client.drop_index(index)
    await client.create_index(index, dimensions=dimensions)
