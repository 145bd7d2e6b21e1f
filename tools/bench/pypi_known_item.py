#!/usr/bin/env python3
"""The PyPI known-item task (query = a package's name, the relevant document = its summary),
as files mrl reads. Used by tools/bench/scale.sh.

  pypi_known_item.py names --out DIR     # DIR/pypi-names.jsonl: 10,000 names, seeded sample, and
                                         # DIR/pypi-train-pairs.jsonl: 50,000 other names (--pairs)
  pypi_known_item.py vectors --out DIR   # after `mrl embed`: DIR/pypi-docs.jsonl (id + vector)
                                         # and DIR/pypi-queries.jsonl (query, relevant_id, vector)
  pypi_known_item.py sample --out DIR    # for tools/bench/calibration.py: DIR/pypi-sample-docs.jsonl,
                                         # 60,000 summaries holding the relevant document of each of
                                         # DIR/pypi-sample-eval.jsonl (10,000 names) and of
                                         # DIR/pypi-sample-log.jsonl (5,000 other names, never evaluated)
"""
import argparse
import gzip
import json
import os
import random

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.join(ROOT, "..", "shared", "data", "pypi-summaries.jsonl.gz")


def rounded(vector):
    return [float(f"{x:.7g}") for x in vector.tolist()]


def names(out):
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    random.seed(0)
    evaluated = sorted(random.sample(range(len(rows)), 10_000))
    with open(os.path.join(out, "pypi-names.jsonl"), "w", encoding="utf-8") as f:
        for i in evaluated:
            f.write(json.dumps({"id": rows[i]["id"], "text": rows[i]["title"]}, ensure_ascii=False) + "\n")
    # Training pairs for a supervised adaptor: never an evaluation name.
    random.seed(1)
    seen = {rows[i]["id"] for i in evaluated}
    with open(os.path.join(out, "pypi-train-pairs.jsonl"), "w", encoding="utf-8") as f:
        for row in random.sample([r for r in rows if r["id"] not in seen], 50_000):
            f.write(json.dumps({"query": row["title"], "relevant_id": row["id"]}) + "\n")


def vectors(out):
    import numpy as np
    import orjson  # writes float32 arrays in their shortest exact form, 50x faster than json here
    docs = np.load(os.path.join(out, "pypi-docs.f32.npy"), mmap_mode="r")
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f, open(os.path.join(out, "pypi-docs.jsonl"), "wb") as o:
        for line, vector in zip(f, docs):
            row = json.loads(line)
            o.write(orjson.dumps({"id": row["id"], "text": row["text"], "vector": np.ascontiguousarray(vector)},
                                 option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")
    queries = np.load(os.path.join(out, "pypi-names.f32.npy"))
    with open(os.path.join(out, "pypi-names.jsonl"), encoding="utf-8") as f, \
            open(os.path.join(out, "pypi-queries.jsonl"), "w", encoding="utf-8") as o:
        for line, vector in zip(f, queries):
            row = json.loads(line)
            o.write(json.dumps({"query": row["text"], "relevant_id": row["id"], "vector": rounded(vector)}, ensure_ascii=False) + "\n")


def sample(out):
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    random.seed(2)
    picked = random.sample(range(len(rows)), 60_000)
    evaluated, logged = picked[:10_000], picked[10_000:15_000]
    with open(os.path.join(out, "pypi-sample-docs.jsonl"), "w", encoding="utf-8") as f:
        for i in sorted(picked):
            f.write(json.dumps({"id": rows[i]["id"], "text": rows[i]["text"]}, ensure_ascii=False) + "\n")
    for name, part in (("eval", evaluated), ("log", logged)):
        with open(os.path.join(out, f"pypi-sample-{name}.jsonl"), "w", encoding="utf-8") as f:
            for i in part:
                f.write(json.dumps({"query": rows[i]["title"], "relevant_id": rows[i]["id"]}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["names", "vectors", "sample"])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    {"names": names, "vectors": vectors, "sample": sample}[args.step](args.out)
