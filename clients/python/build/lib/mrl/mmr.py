"""Maximal marginal relevance over plain lists (no numpy): picks documents similar to the
query and unlike those already picked."""

from __future__ import annotations

import math
from collections.abc import Sequence


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return sum(x * y for x, y in zip(a, b)) / norms if norms else 0.0


def maximal_marginal_relevance(query: Sequence[float], candidates: Sequence[Sequence[float]], k: int, lambda_mult: float = 0.5) -> list[int]:
    """Indexes into ``candidates`` of up to ``k`` picks, in order: each maximises
    ``lambda_mult * sim(query) - (1 - lambda_mult) * max sim(picked)`` (cosine)."""
    relevance = [_cosine(query, candidate) for candidate in candidates]
    picked: list[int] = []
    redundancy = [-math.inf] * len(candidates)  # the highest similarity to any pick so far
    while len(picked) < min(k, len(candidates)):
        best = max(
            (i for i in range(len(candidates)) if i not in picked),
            key=lambda i: lambda_mult * relevance[i] - (1 - lambda_mult) * (redundancy[i] if picked else 0.0),
        )
        picked.append(best)
        redundancy = [max(redundancy[i], _cosine(candidates[i], candidates[best])) for i in range(len(candidates))]
    return picked
