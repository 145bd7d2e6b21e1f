"""Embedding through Ray Data, side by side on the same texts and the same 2 cores, one run:

- `mrl embed` alone (its encoder on 2 threads): the rate Ray's overhead is measured against;
- Ray Data with mrl's actors (`mrl_ray.MrlEmbedder`): 2 actors of one CPU, one encoder thread each;
- Ray Data with sentence-transformers actors (the common way): 2 actors of one CPU, torch on one thread each.

Each is run `--rounds` times in alternation; the table gives texts/s per round and the median,
and a projection to 100 million documents on N machines of this kind from the measured rate.
Usage: tools/bench/ray_venv.sh && tools/.venv/bin/python tools/bench/ray_embed.py --corpus debian --limit 4000
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import ray

import mrl_ray
import mrl_ray.embedding

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
MRL = os.environ.get("MRL_BIN") or str(REPO / ".build" / "release" / "mrl")
MODEL = REPO / "models" / "all-MiniLM-L6-v2"


class SentenceTransformerEmbedder:
    """The usual Ray Data embedding actor: sentence-transformers on CPU, one torch thread."""

    def __init__(self) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(1)
        self.model = SentenceTransformer(str(MODEL), device="cpu")

    def __call__(self, batch: dict) -> dict:
        batch["vector"] = self.model.encode(list(batch["text"]), batch_size=64, normalize_embeddings=True)
        return batch


def corpus(name: str, limit: int, folder: Path) -> Path:
    source = SHARED / ("debian-packages.jsonl.gz" if name == "debian" else "pypi-summaries.jsonl.gz")
    path = folder / f"{name}.jsonl"
    with gzip.open(source, "rt") as lines, open(path, "w") as out:
        for n, line in enumerate(lines):
            if n == limit:
                break
            row = json.loads(line)
            out.write(json.dumps({"id": row["id"], "text": row["text"]}) + "\n")
    return path


def mrl_embed(path: Path, folder: Path) -> float:
    started = time.monotonic()
    subprocess.run([MRL, "embed", str(path), "-o", str(folder / "mrl.npy")], check=True, capture_output=True)
    return time.monotonic() - started


def ray_mrl(path: Path, folder: Path) -> float:
    out = folder / "ray-mrl"
    shutil.rmtree(out, ignore_errors=True)
    started = time.monotonic()
    mrl_ray.embed(path, out, actors=2, batch_size=256, binary=MRL)
    return time.monotonic() - started


def ray_sentence_transformers(path: Path, folder: Path) -> float:
    out = folder / "ray-st"
    shutil.rmtree(out, ignore_errors=True)
    started = time.monotonic()
    # The same reads, blocks and writes as mrl_ray.embed (which keep both actors busy), so that
    # only the encoder differs.
    embedded = mrl_ray.embedding.read_input(path, blocks=8).map_batches(
        SentenceTransformerEmbedder, batch_size=256, num_cpus=1, batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=2, max_tasks_in_flight_per_actor=1),
    )
    mrl_ray.embedding.write_parquet(embedded, out)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", choices=["debian", "pypi"], default="debian")
    parser.add_argument("--limit", type=int, default=4_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ray-embed-"))
    path = corpus(args.corpus, args.limit, folder)
    mrl_ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    runs = {"mrl embed (2 threads)": mrl_embed, "Ray Data + mrl actors (2 x 1 thread)": ray_mrl,
            "Ray Data + sentence-transformers actors (2 x 1 thread)": ray_sentence_transformers}
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for round in range(args.rounds):
        for name, run in runs.items():
            rates[name].append(args.limit / run(path, folder))
            print(f"round {round + 1}: {name}: {rates[name][-1]:.1f} texts/s", flush=True)
    print(f"\n{args.limit} {args.corpus} texts, {args.rounds} rounds, 2 cores\n")
    print("| pipeline | texts/s per round | median | vs mrl embed |\n|---|---|---|---|")
    base = statistics.median(rates["mrl embed (2 threads)"])
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"| {name} | {', '.join(f'{v:.0f}' for v in values)} | {median:.0f} | {median / base:.2f}x |")
    per_core = statistics.median(rates["Ray Data + mrl actors (2 x 1 thread)"]) / 2
    print(f"\nprojection from the Ray + mrl rate ({per_core:.0f} texts/s per core), 100 million {args.corpus} texts:")
    for machines in (1, 10, 100):
        hours = 1e8 / (per_core * 2 * machines) / 3600
        print(f"  {machines:>3} machines of 2 cores: {hours:,.1f} h")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
