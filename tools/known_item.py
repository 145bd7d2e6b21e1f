#!/usr/bin/env python3
"""The Debian known-item task as files `mrl index` and `mrl eval` read (query = a package's
title, the relevant document = the package).

  tools/known_item.py                 # writes tools/bench/out/debian-{docs,titles,train-pairs}.jsonl
  mrl index --index debian-ref tools/bench/out/debian-docs.jsonl
  mrl eval --index debian-ref --queries tools/bench/out/debian-titles.jsonl

debian-train-pairs.jsonl holds the titles of the other 50,605 packages (text only), never an
evaluation title: the (query, document) pairs for a supervised adaptor (`--pairs`).

By default documents and queries carry the reference embeddings from ../shared/data (made by
sentence-transformers), so the figures do not depend on our encoder; `--text` writes the
10,000 title queries as text only, for an index built from text by mrl's own encoder.
"""
import argparse
import gzip
import json
import os

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DATA = os.path.join(ROOT, "..", "shared", "data")


def rounded(vector):
    # 7 significant digits keep float32 exact enough (cosine change < 1e-7) at half the bytes of repr.
    return [float(f"{x:.7g}") for x in vector.tolist()]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(ROOT, "tools", "bench", "out"))
    parser.add_argument("--text", action="store_true", help="queries as text only (no reference vectors), documents not written")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    with gzip.open(os.path.join(DATA, "debian-packages.jsonl.gz"), "rt", encoding="utf-8") as f:
        packages = [json.loads(line) for line in f]
    sample = json.load(open(os.path.join(DATA, "minilm-debian-titles.ids.json")))
    titles = np.load(os.path.join(DATA, "minilm-debian-titles.f16.npy")).astype(np.float32)

    queries_path = os.path.join(args.out, "debian-titles-text.jsonl" if args.text else "debian-titles.jsonl")
    with open(queries_path, "w", encoding="utf-8") as out:
        for i, row in enumerate(sample["row"]):
            package = packages[row]
            query = {"query": package["title"], "relevant_id": package["id"]}
            if not args.text:
                query["vector"] = rounded(titles[i])
            out.write(json.dumps(query, ensure_ascii=False) + "\n")
    print(f"wrote {len(sample['row'])} queries to {queries_path}")
    evaluated = set(sample["row"])
    pairs_path = os.path.join(args.out, "debian-train-pairs.jsonl")
    with open(pairs_path, "w", encoding="utf-8") as out:
        for row, package in enumerate(packages):
            if row not in evaluated:
                out.write(json.dumps({"query": package["title"], "relevant_id": package["id"]}, ensure_ascii=False) + "\n")
    print(f"wrote {len(packages) - len(evaluated)} training pairs (no evaluation title among them) to {pairs_path}")
    if args.text:
        return

    docs = np.load(os.path.join(DATA, "minilm-debian-docs.f16.npy")).astype(np.float32)
    docs_path = os.path.join(args.out, "debian-docs.jsonl")
    with open(docs_path, "w", encoding="utf-8") as out:
        for package, vector in zip(packages, docs):
            doc = {"id": package["id"], "title": package["title"], "text": package["text"], "vector": rounded(vector)}
            out.write(json.dumps(doc, ensure_ascii=False) + "\n")
    print(f"wrote {len(packages)} documents to {docs_path}")


if __name__ == "__main__":
    main()
