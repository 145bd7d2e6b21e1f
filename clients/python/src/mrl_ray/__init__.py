"""mrl past one machine, on Ray: ``init`` (join a cluster, or start one here), ``embed`` (bulk
embedding on Ray Data with mrl's own encoder), ``build_shards`` (a sharded index with one shared head), ``deploy`` (sharded search on Ray
Serve, in ``mrl_ray.serving``). Install with ``pip install 'mrl-client[ray]'``."""

from .cluster import init
from .embedding import MrlEmbedder, embed
from .shards import ShardedIndex, build_shards, shard_of

__all__ = ["MrlEmbedder", "ShardedIndex", "build_shards", "embed", "init", "shard_of"]
