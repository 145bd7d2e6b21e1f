#!/usr/bin/env python3
"""How far mrl's int8 encoder is from sentence-transformers' fp32 embeddings, on the Debian
corpus: cosine of each description's vector with the reference (all 60,605, and the first
5,000 as the encoder issue counts them), and the known-item task (10,000 titles -> their
package) at every Matryoshka prefix, int8 against the reference embeddings. Prefixes are the
raw vectors' leading coordinates, renormalized (no head), so the figure is about the encoder.

Needs numpy and a release build; reads ../shared/data (the reference .npy files).
  python3 tools/bench/int8_fidelity.py [--precision int8] [--shared ../shared/data]
Writes tools/bench/out/int8_fidelity.json and prints a markdown table.
"""
import argparse, gzip, json, os, subprocess, tempfile, time
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--shared", default="../shared/data")
ap.add_argument("--mrl", default=".build/release/mrl")
ap.add_argument("--precision", default="int8")
ap.add_argument("--prefixes", default="32,64,128,256,384")
args = ap.parse_args()

docs = [json.loads(line) for line in gzip.open(os.path.join(args.shared, "debian-packages.jsonl.gz"), "rt")]
title_rows = json.load(open(os.path.join(args.shared, "minilm-debian-titles.ids.json")))["row"]
reference_docs = np.load(os.path.join(args.shared, "minilm-debian-docs.f16.npy")).astype(np.float32)
reference_titles = np.load(os.path.join(args.shared, "minilm-debian-titles.f16.npy")).astype(np.float32)

def embed(texts):
    with tempfile.TemporaryDirectory() as tmp:
        source, out = os.path.join(tmp, "in.jsonl"), os.path.join(tmp, "out.npy")
        with open(source, "w") as f:
            for i, text in enumerate(texts):
                f.write(json.dumps({"id": str(i), "text": text}) + "\n")
        start = time.time()
        subprocess.run([args.mrl, "embed", source, "-o", out, "--precision", args.precision], check=True)
        return np.load(out), time.time() - start

doc_vectors, doc_seconds = embed([d["text"] for d in docs])
title_vectors, _ = embed([docs[r]["title"] for r in title_rows])

def unit(m):
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)

cosine = (unit(doc_vectors) * unit(reference_docs)).sum(axis=1)
title_cosine = (unit(title_vectors) * unit(reference_titles)).sum(axis=1)

def mrr_at_10(d, q, prefix):
    d, q = unit(d[:, :prefix]), unit(q[:, :prefix])
    total = 0.0
    for start in range(0, len(q), 1000):
        scores = q[start:start + 1000] @ d.T
        top = np.argpartition(-scores, 10, axis=1)[:, :10]
        for i, row in enumerate(top):
            ranked = row[np.argsort(-scores[i, row])]
            hit = np.nonzero(ranked == title_rows[start + i])[0]
            total += 1.0 / (hit[0] + 1) if len(hit) else 0.0
    return total / len(q)

rows = []
for prefix in map(int, args.prefixes.split(",")):
    ours, theirs = mrr_at_10(doc_vectors, title_vectors, prefix), mrr_at_10(reference_docs, reference_titles, prefix)
    rows.append({"prefix": prefix, "mrr_at_10": ours, "reference_mrr_at_10": theirs, "ratio": ours / theirs})

result = {"precision": args.precision, "documents": len(docs), "embed_seconds": doc_seconds,
          "cosine_all": {"worst": float(cosine.min()), "mean": float(cosine.mean())},
          "cosine_first_5000": {"worst": float(cosine[:5000].min()), "mean": float(cosine[:5000].mean())},
          "cosine_titles": {"worst": float(title_cosine.min()), "mean": float(title_cosine.mean())},
          "known_item": rows}
os.makedirs("tools/bench/out", exist_ok=True)
json.dump(result, open(f"tools/bench/out/{args.precision}_fidelity.json", "w"), indent=1)
print(f"mrl {args.precision} against sentence-transformers fp32 (reference embeddings)\n")
print("| texts | worst cosine | mean cosine |\n|---|---|---|")
for name, key in [("first 5,000 descriptions", "cosine_first_5000"), ("all 60,605 descriptions", "cosine_all"), ("10,000 titles", "cosine_titles")]:
    print(f"| {name} | {result[key]['worst']:.5f} | {result[key]['mean']:.6f} |")
print("\n| prefix | MRR@10 " + args.precision + " | MRR@10 reference | ratio |\n|---|---|---|---|")
for r in rows:
    print(f"| {r['prefix']} | {r['mrr_at_10']:.4f} | {r['reference_mrr_at_10']:.4f} | {r['ratio']:.4f} |")
