#!/usr/bin/env python3
"""Issue 19 experiment: how far can a head distilled from logged queries (no labels) take the
64-d and 128-d prefixes on PyPI names? Python (JAX), not product code: it re-implements the
loss of mrl's `AdaptorTrainer` (documents' in-batch KL at τ 0.05 plus `QueryDistillation`'s at
τ 0.02, prefixes 32/64/128/256, Adam 1e-3 with warm-up and cosine decay, 10 epochs of 1,024
documents) so that variants the product does not have can be tried beside it:

  product   the product's head: one linear map for documents and queries
  asym      a second linear map (and offset) for queries only, documents keep theirs
  mlp       the map plus a residual GELU layer of 768 units (a non-linear head)
  ...and with any of them: --augment (iso:σ, cov:α, mix:λ) perturbed or mixed log queries,
  --more-queries N (log names past the 5,000, from names whose summary is not in the sample),
  --oracle (distil from the evaluation names 1-5,000 themselves: a ceiling, not a result).

MRR@10 of exact search at each prefix (cosine on the re-normalised prefix) on evaluation names
1-5,000 over all 60,000 summaries, as a share of full 384-d search's, as `mrl eval
--compare-heads` reports it.

Data (the sample of tools/bench/pypi_known_item.py, embedded by mrl):
  python3 tools/bench/pypi_known_item.py sample --out DIR
  jq -c '{id: .relevant_id, text: .query}' DIR/pypi-sample-eval.jsonl > DIR/eval-texts.jsonl   # likewise log
  mrl embed DIR/pypi-sample-docs.jsonl -o DIR/docs.npy    # and eval-texts, log-texts -> eval.npy, log.npy
Run (jax and optax: tools/.venv/bin/pip install jax optax):
  tools/.venv/bin/python tools/bench/distill_ceiling.py --dir DIR --arm product
"""
import argparse
import json
import os
import time
from functools import partial

import numpy as np

PREFIXES = [32, 64, 128, 256]
DIMS = 384
TRAIN_DOCS = 50_000  # Index.headSampleLimit
BATCH, QUERIES_PER_BATCH, NEIGHBOURS, NEAR, RANDOM_DOCS = 1024, 256, 16, 8, 512


def load(directory, oracle, more):
    docs = np.load(os.path.join(directory, "docs.npy")).astype(np.float32)
    evaluation = np.load(os.path.join(directory, "eval.npy")).astype(np.float32)[:5000]
    log = np.load(os.path.join(directory, "log.npy")).astype(np.float32)
    if more:
        log = np.concatenate([log, np.load(os.path.join(directory, "biglog.npy")).astype(np.float32)[:more]])
    if oracle:
        log = evaluation
    ids = [json.loads(line)["id"] for line in open(os.path.join(directory, "pypi-sample-docs.jsonl"))]
    row = {i: n for n, i in enumerate(ids)}
    relevant = np.array([row[json.loads(line)["relevant_id"]] for line in open(os.path.join(directory, "pypi-sample-eval.jsonl"))][:5000])
    return docs, evaluation, relevant, log


def mrr_share(docs_out, queries_out, docs, queries, relevant):
    """MRR@10 at each prefix (and 384 on the raw vectors) over the full-dimension MRR@10."""
    def mrr(q, d):
        scores = q @ d.T
        target = scores[np.arange(len(relevant)), relevant]
        rank = (scores >= target[:, None]).sum(1)  # ties count against the document
        return float(np.where(rank <= 10, 1 / rank, 0).mean())

    def unit(x):
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    full = mrr(queries, docs)
    return {m: round(mrr(unit(queries_out[:, :m]), unit(docs_out[:, :m])) / full, 3) for m in PREFIXES}, full


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--arm", choices=["product", "asym", "mlp"], default="product")
    ap.add_argument("--augment", default="", help="iso:SIGMA, cov:ALPHA or mix:LAMBDA_MIN")
    ap.add_argument("--more-queries", type=int, default=0)
    ap.add_argument("--oracle", action="store_true")
    ap.add_argument("--epochs", type=int, default=10)
    args = ap.parse_args()

    import jax
    import jax.numpy as jnp
    import optax

    docs, evaluation, relevant, log = load(args.dir, args.oracle, args.more_queries)
    r = np.random.default_rng(0)
    train = docs[np.sort(r.choice(len(docs), TRAIN_DOCS, replace=False))]
    mean = train.mean(0)
    _, vectors = np.linalg.eigh(np.cov((train - mean).T))
    pca = vectors[:, ::-1].T.copy().astype(np.float32)  # largest variance first, as fitPCA

    def unit(x):
        return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-12)

    def kl(left, right, raw_left, raw_right, tau, shared):
        mask = -1e9 * jnp.eye(left.shape[0]) if shared else 0.0
        target = jax.nn.softmax((raw_left @ raw_right.T) / tau + mask, -1)
        return sum(-(target * jax.nn.log_softmax(unit(left[:, :m]) @ unit(right[:, :m]).T / tau + mask, -1)).sum(-1).mean()
                   for m in PREFIXES)

    def head(params, x):
        centred = x - mean
        y = centred @ params["W"].T
        if "U" in params:
            y = y + jax.nn.gelu(centred @ params["V"].T) @ params["U"].T
        return y

    def query_head(params, q):
        return q @ params["A"].T + params["b"] if "A" in params else head(params, q)

    def loss(params, documents, queries, candidates):
        y = head(params, documents)
        return (kl(y, y, documents, documents, 0.05, True)
                + kl(query_head(params, queries), head(params, candidates), queries, candidates, 0.02, False))

    params = {"W": jnp.asarray(pca)}
    if args.arm == "asym":
        params["A"], params["b"] = jnp.asarray(pca), jnp.asarray(-pca @ mean)
    if args.arm == "mlp":
        params["V"] = jnp.asarray(r.standard_normal((768, DIMS)).astype(np.float32) * 4 / np.sqrt(DIMS))
        params["U"] = jnp.zeros((DIMS, 768), jnp.float32)

    nearest = np.argsort(-(log @ train.T), axis=1)[:, :NEIGHBOURS]
    shape = np.linalg.cholesky(np.cov(log.T) + 1e-6 * np.eye(DIMS)).astype(np.float32)
    steps = TRAIN_DOCS // BATCH * args.epochs
    schedule = optax.join_schedules([optax.linear_schedule(0.02, 1.0, 50), optax.cosine_decay_schedule(1.0, steps)], [50])
    optimiser = optax.adam(lambda s: 1e-3 * schedule(s))
    state = optimiser.init(params)
    step = jax.jit(jax.value_and_grad(loss))
    kind, _, amount = args.augment.partition(":")
    order, position, started = r.permutation(len(log)), 0, time.time()
    for epoch in range(args.epochs):
        documents = r.permutation(TRAIN_DOCS)
        for b in range(TRAIN_DOCS // BATCH):
            if position + QUERIES_PER_BATCH > len(log):
                order, position = r.permutation(len(log)), 0
            picked = order[position:position + QUERIES_PER_BATCH]
            position += QUERIES_PER_BATCH
            queries = log[picked]
            near = np.concatenate([r.permutation(nearest[q])[:NEAR] for q in picked])
            if kind == "iso":
                queries = queries + float(amount) * r.standard_normal(queries.shape).astype(np.float32)
            elif kind == "cov":
                queries = queries + np.sqrt(float(amount)) * (r.standard_normal(queries.shape).astype(np.float32) @ shape.T)
            elif kind == "mix":
                other = r.integers(0, len(log), QUERIES_PER_BATCH)
                weight = r.uniform(float(amount), 1.0, (QUERIES_PER_BATCH, 1)).astype(np.float32)
                queries = weight * queries + (1 - weight) * log[other]
                near = np.concatenate([np.concatenate([r.permutation(nearest[q])[:NEAR // 2], r.permutation(nearest[o])[:NEAR // 2]])
                                       for q, o in zip(picked, other)])
            queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
            candidates = train[np.concatenate([near, r.integers(0, TRAIN_DOCS, RANDOM_DOCS)])]
            _, gradient = step(params, train[documents[b * BATCH:(b + 1) * BATCH]], queries, candidates)
            updates, state = optimiser.update(gradient, state, params)
            params = optax.apply_updates(params, updates)
    seconds = time.time() - started
    shares, full = mrr_share(np.asarray(head(params, docs)), np.asarray(query_head(params, evaluation)), docs, evaluation, relevant)
    print(json.dumps({"arm": args.arm, "augment": args.augment, "queries": len(log), "oracle": args.oracle,
                      "mrr_share": shares, "full_mrr": round(full, 4), "train_s": round(seconds)}))


if __name__ == "__main__":
    main()
