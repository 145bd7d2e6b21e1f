"""``mrl-ray``: mrl past one machine, on a Ray cluster (or a local one when no address is
given). ``embed`` embeds a corpus on Ray Data, ``build`` builds a sharded index from the
vectors, ``serve`` serves it on Ray Serve."""

from __future__ import annotations

import argparse
import sys
import time

from .cluster import init
from .embedding import embed
from .shards import build_shards


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mrl-ray",
        description="mrl past one machine, on a Ray cluster (or a local one when no address is given): embed a "
        "corpus on Ray Data, build a sharded index from the vectors, serve it on Ray Serve.",
    )
    parser.add_argument("--address", help="Ray cluster to join (default: $RAY_ADDRESS, else a local cluster)")
    parser.add_argument("--mrl", dest="binary", help="the mrl executable on every node (default: $MRL_BIN, else mrl on PATH)")
    commands = parser.add_subparsers(dest="command", required=True)

    e = commands.add_parser("embed", help="Embed the texts of JSONL or Parquet rows into Parquet, skipping rows embedded before.")
    e.add_argument("input", help="JSONL (.jsonl, .jsonl.gz) or Parquet (a file or folder) with id and text")
    e.add_argument("output", help="Parquet folder: rows with their vector and content_hash are added to it")
    e.add_argument("--actors", type=int, default=2, help="encoder actors, one CPU each (default: 2)")
    e.add_argument("--batch-size", type=int, default=256, help="rows per batch an actor embeds (default: 256)")
    e.add_argument("--precision", choices=["fp32", "int8"], default="fp32", help="the encoder's arithmetic (default: fp32)")

    b = commands.add_parser("build", help="Build a sharded index from rows with id and vector (the output of embed).")
    b.add_argument("vectors", help="JSONL or Parquet rows with id and vector (text and meta are kept when present)")
    b.add_argument("build", help="new folder for the shards, their shared head and shards.json")
    b.add_argument("--shards", type=int, required=True, help="number of shards (rows go by a hash of their id)")
    b.add_argument("--index", default="shard", help="name of the sharded index; shards are NAME-0, NAME-1, ... (default: shard)")
    b.add_argument("--head", choices=["pca", "adaptor", "none"], default="pca", help="the head fitted on a sample of all shards (default: pca)")
    b.add_argument("--sample", type=int, default=50_000, help="rows the head is fitted on (default: 50000)")

    s = commands.add_parser("serve", help="Serve a sharded index on Ray Serve until interrupted.")
    s.add_argument("build", help="the folder made by build (on storage every node reads)")
    s.add_argument("--replicas", type=int, default=2, help="replicas of each shard (default: 2)")
    s.add_argument("--num-cpus", type=float, default=0.25, help="CPUs each replica and the router reserve (default: 0.25)")

    args = parser.parse_args(argv)
    for name in ("actors", "batch_size", "shards", "sample", "replicas"):
        if getattr(args, name, 1) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    init(args.address, log_to_driver=False)
    try:
        if args.command == "embed":
            report = embed(args.input, args.output, actors=args.actors, batch_size=args.batch_size,
                           precision=args.precision, binary=args.binary)
            print(f"{args.output}: {report.embedded} rows embedded in {report.seconds:.1f} s; {report.present} were there already")
        elif args.command == "build":
            built = build_shards(args.vectors, args.build, shards=args.shards, index=args.index, head=args.head,
                                 sample=args.sample, binary=args.binary)
            sizes = ", ".join(f"{shard.name} {shard.documents}" for shard in built.shards)
            print(f"{args.build}: {len(built.shards)} shards ({sizes}) with one {args.head} head in {built.seconds:.1f} s")
        else:
            from .serving import deploy

            deploy(args.build, replicas=args.replicas, num_cpus=args.num_cpus, binary=args.binary)
            print("serving on http://127.0.0.1:8000 (POST /indexes/NAME/search); Ctrl-C to stop", flush=True)
            while True:
                time.sleep(3600)
    except (ValueError, FileNotFoundError, FileExistsError, RuntimeError) as error:
        print(f"mrl-ray: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
