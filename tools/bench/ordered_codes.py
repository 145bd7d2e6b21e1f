#!/usr/bin/env python3
"""How well 4-bit codes of a prefix rank a filter's rows: a simulation of the ordered scan.

mrl's ordered scan (`OrderedCodes`) ranks a filter's rows on 4-bit codes of a prefix of each
row (in head space, renormalised, centred and scaled per component to -8...7), passes the best
on to be scored on the walk's 128-d rows, and the best `ef` of those to the full-dimension
stage. This replays that in numpy on filter_data.py's data: a PCA rotation stands in for the
head, float 128-d prefixes for the walk's int8 rows. Per prefix width and per kind of filter it
prints the worst code rank of the true 10 (of the exact 384-d top 10 of the matching rows,
counted from 1: how many rows the codes must pass on for recall 1) at the median and 90th
percentile, and the recall@10 reached passing each of --keeps rows on. The scales come from at
most 65,536 rows spread evenly over the ids, as mrl's `RowCodes` take them.

Use the tuning half (the default): this is what chooses the widths and counts.
    python3 tools/bench/ordered_codes.py --name debian --ef 24 --keeps 24,32,48,120
    python3 tools/bench/ordered_codes.py --name pypi --docs tools/bench/out/scale/pypi-docs.f32.npy \\
        --ef 96 --keeps 96,144,192,480 --limit 150
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import filter_data as fd  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--name", default="debian", help="reads tools/bench/out/filter-NAME-SPLIT.jsonl")
    ap.add_argument("--docs", default=str(fd.DATA / "minilm-debian-docs.f16.npy"),
                    help="the document vectors filter_data.py was given (its attributes are made again from them)")
    ap.add_argument("--split", default="tune", choices=["tune", "eval"])
    ap.add_argument("--limit", type=int, default=300, help="queries per kind")
    ap.add_argument("--widths", default="64,96,128", help="code prefixes, in components")
    ap.add_argument("--keeps", default="24,48,120", help="rows passed on from the codes")
    ap.add_argument("--ef", type=int, default=24, help="rows passed from the walk's rows to the full-dimension stage")
    ap.add_argument("--seed", type=int, default=0, help="filter_data.py's")
    return ap.parse_args()


def prefix(x, dims):
    """The unit prefix of `dims` components of each row of x."""
    y = x[..., :dims]
    return y / np.maximum(np.linalg.norm(y, axis=-1, keepdims=True), 1e-12)


def main(args):
    docs = fd.unit(np.load(args.docs).astype(np.float32))
    bucket, _, labels = fd.attributes(docs, args.seed)  # as filter_data.py drew them
    sample = docs[:: max(1, len(docs) // 65_536)]
    _, vectors = np.linalg.eigh(sample.T @ sample)
    rotation = vectors[:, ::-1].copy()               # principal axes first: the head's prefixes
    head = docs @ rotation
    walk = prefix(head, 128)
    queries = {}
    path = fd.ROOT / f"tools/bench/out/filter-{args.name}-{args.split}.jsonl"
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            q = json.loads(line)
            if len(queries.setdefault(q["kind"], [])) < args.limit:
                queries[q["kind"]].append((fd.unit(np.array(q["vector"], np.float32)), q["filter"]))
    keeps = [int(k) for k in args.keeps.split(",")]
    print(f"{args.name} {args.split}: {len(docs):,} rows, ef {args.ef}"
          "; per width and kind: rows matching (median), worst code rank of the true 10 (p50, p90), recall@10 by rows passed on")
    for width in [int(w) for w in args.widths.split(",")]:
        rows_prefix = prefix(head, width)
        sampled = rows_prefix[:: -(-len(rows_prefix) // 65_536)]
        scale = sampled.std(axis=0) * 3 / 7.5
        codes = np.clip(np.round((rows_prefix - sampled.mean(axis=0)) / scale), -8, 7).astype(np.float32)
        for kind, items in queries.items():
            worst, matching, recall = [], [], {k: [] for k in keeps}
            for vector, flt in items:
                if "eq" in flt:
                    rows = np.flatnonzero(labels == flt["eq"])
                else:
                    rows = np.flatnonzero((bucket >= flt["range"]["gte"]) & (bucket < flt["range"]["lt"]))
                matching.append(len(rows))
                exact = docs[rows] @ vector
                truth = set(np.argsort(-exact)[:fd.K].tolist())
                rotated = vector @ rotation
                folded = prefix(rotated, width) * scale
                query = np.round(folded / np.abs(folded).max() * 127)
                order = np.argsort(-(codes[rows] @ query))
                rank = np.empty(len(rows), int)
                rank[order] = np.arange(len(rows))
                worst.append(max(rank[list(truth)]) + 1)
                walked = walk[rows] @ prefix(rotated, 128)
                for k in keeps:
                    passed = order[:k]
                    beam = passed[np.argsort(-walked[passed])[:args.ef]]
                    found = beam[np.argsort(-exact[beam])[:fd.K]]
                    recall[k].append(len(truth & set(found.tolist())) / len(truth))
            cells = " ".join(f"{k}:{np.mean(r):.3f}" for k, r in recall.items())
            print(f"  {width:3}-d {kind:16} {np.median(matching):7,.0f} rows  rank p50 {np.percentile(worst, 50):5.0f} "
                  f"p90 {np.percentile(worst, 90):5.0f}  recall {cells}", flush=True)


if __name__ == "__main__":
    main(parse_args())
