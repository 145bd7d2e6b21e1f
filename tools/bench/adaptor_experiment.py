#!/usr/bin/env python3
"""Issue 8 experiment: can a learned Matryoshka adaptor make the 32/64/128-d prefixes of
all-MiniLM-L6-v2 nearly as good as the full 384 dimensions? Python, not product code.

Data: ../shared/data/minilm-debian-{docs,titles}.f16.npy (reference embeddings). Task: the
Debian known-item task (query = title, relevant = its package's description; row of title i is
minilm-debian-titles.ids.json["row"][i], as tools/known_item.py writes it). Exact search, cosine
on each prefix (the prefix is re-normalised), MRR@10 and recall@10.

Unsupervised recipes see DOCUMENT embeddings only. The supervised "ceiling" recipe trains on
(title -> description) pairs of packages that are NOT among the 10,000 evaluation titles (titles
embedded here with sentence-transformers from models/all-MiniLM-L6-v2); it is a reference only.

  OMP_NUM_THREADS=1 tools/.venv/bin/python tools/bench/adaptor_experiment.py baselines
  OMP_NUM_THREADS=1 tools/.venv/bin/python tools/bench/adaptor_experiment.py train --recipe NAME
  OMP_NUM_THREADS=1 tools/.venv/bin/python tools/bench/adaptor_experiment.py list

One thread throughout (another benchmark shares the 2 cores). Results are appended to
tools/bench/out/adaptor_results.jsonl; caches (k-NN lists, extra title embeddings) go to
tools/bench/out/adaptor_cache/.
"""
import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse
import gzip
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(ROOT, "..", "shared", "data")
OUT = os.path.join(ROOT, "tools", "bench", "out")
CACHE = os.path.join(OUT, "adaptor_cache")
RESULTS = os.path.join(OUT, "adaptor_results.jsonl")
DIMS = (32, 64, 128, 256, 384)
D = 384


# ----------------------------------------------------------------------------- data

def load():
    docs = np.load(os.path.join(DATA, "minilm-debian-docs.f16.npy")).astype(np.float32)
    titles = np.load(os.path.join(DATA, "minilm-debian-titles.f16.npy")).astype(np.float32)
    rows = np.asarray(json.load(open(os.path.join(DATA, "minilm-debian-titles.ids.json")))["row"], dtype=np.int64)
    return torch.from_numpy(docs), torch.from_numpy(titles), torch.from_numpy(rows)


def knn(docs, k=50):
    """Each document's k nearest other documents by full-dimension cosine (exact), cached."""
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, f"knn{k}.npz")
    if os.path.exists(path):
        z = np.load(path)
        return torch.from_numpy(z["idx"]), torch.from_numpy(z["sim"])
    t0 = time.time()
    n = docs.shape[0]
    idx = torch.empty(n, k, dtype=torch.int64)
    sim = torch.empty(n, k)
    for s in range(0, n, 2048):
        block = docs[s:s + 2048] @ docs.T
        block[torch.arange(block.shape[0]), torch.arange(s, s + block.shape[0])] = -2  # not itself
        v, i = block.topk(k, dim=1)
        idx[s:s + 2048], sim[s:s + 2048] = i, v
    np.savez(path, idx=idx.numpy(), sim=sim.numpy())
    print(f"k-NN ({k}) of {n} documents: {time.time() - t0:.1f}s", file=sys.stderr)
    return idx, sim


def extra_titles(rows):
    """Titles of the packages NOT among the evaluation titles, embedded with the reference model
    (sentence-transformers, same settings as the shared data), cached. For the supervised
    ceiling only. Returns (title embeddings, their document rows)."""
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, "extra_titles.npz")
    if os.path.exists(path):
        z = np.load(path)
        return torch.from_numpy(z["emb"]), torch.from_numpy(z["row"])
    from sentence_transformers import SentenceTransformer
    with gzip.open(os.path.join(DATA, "debian-packages.jsonl.gz"), "rt", encoding="utf-8") as f:
        packages = [json.loads(line) for line in f]
    held = set(rows.tolist())
    train_rows = np.array([r for r in range(len(packages)) if r not in held], dtype=np.int64)
    model = SentenceTransformer(os.path.join(ROOT, "models", "all-MiniLM-L6-v2"), device="cpu")
    t0 = time.time()
    emb = model.encode([packages[r]["title"] for r in train_rows], batch_size=128,
                       normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    # check against the reference embeddings of a few evaluation titles
    ref = np.load(os.path.join(DATA, "minilm-debian-titles.f16.npy")).astype(np.float32)[:64]
    mine = model.encode([packages[r]["title"] for r in rows[:64].tolist()], normalize_embeddings=True)
    print(f"embedded {len(train_rows)} titles in {time.time() - t0:.0f}s; "
          f"min cosine to reference {float((ref * mine).sum(1).min()):.5f}", file=sys.stderr)
    np.savez(path, emb=emb.astype(np.float32), row=train_rows)
    return torch.from_numpy(emb.astype(np.float32)), torch.from_numpy(train_rows)


# ----------------------------------------------------------------------------- evaluation

@torch.no_grad()
def evaluate(q, d, rel, dims=DIMS, chunk=1000):
    """MRR@10 and recall@10 of the relevant document by cosine on each prefix of q and d
    (already in head space). rel[i] = row of query i's relevant document."""
    out = {}
    for m in dims:
        qm = F.normalize(q[:, :m], dim=1).contiguous()
        dm = F.normalize(d[:, :m], dim=1).contiguous()
        rr, hit = 0.0, 0
        for s in range(0, qm.shape[0], chunk):
            qs, rs = qm[s:s + chunk], rel[s:s + chunk]
            scores = (qs @ dm.T).numpy()
            # the relevant document's score read from the same product (no rounding mismatch)
            target = np.take_along_axis(scores, rs.numpy()[:, None], 1)
            rank = torch.from_numpy((scores > target).sum(1) + 1)
            top = rank <= 10
            rr += float((1.0 / rank.float())[top].sum())
            hit += int(top.sum())
        out[m] = {"mrr10": rr / qm.shape[0], "r10": hit / qm.shape[0]}
    return out


def fmt(res, ref=None):
    cells = []
    for m in DIMS:
        if m in res:
            share = f" ({res[m]['mrr10'] / ref:.0%})" if ref else ""
            cells.append(f"{m}:{res[m]['mrr10']:.3f}{share}")
    return "  ".join(cells)


def record(name, res, extra=None):
    os.makedirs(OUT, exist_ok=True)
    row = {"name": name, "mrr10": {m: round(r["mrr10"], 4) for m, r in res.items()},
           "r10": {m: round(r["r10"], 4) for m, r in res.items()}}
    row.update(extra or {})
    with open(RESULTS, "a") as f:
        f.write(json.dumps(row) + "\n")


# ----------------------------------------------------------------------------- closed-form heads

def pca(docs, centre=True):
    """Eigenvectors of the documents' covariance (centred like the Swift head), largest first.
    Returns (rotation R with rows = axes, eigenvalues, mean)."""
    mu = docs.mean(0)
    x = (docs - mu) if centre else docs
    cov = (x.T.double() @ x.double()) / (x.shape[0] - 1)
    vals, vecs = torch.linalg.eigh(cov)
    order = torch.argsort(vals, descending=True)
    vals, vecs = vals[order].float(), vecs[:, order].float()
    sign = torch.where(vecs.gather(0, vecs.abs().argmax(0, keepdim=True)) < 0, -1.0, 1.0)
    return (vecs * sign).T.contiguous(), vals, mu


def baselines(docs, titles, rows):
    res = {}
    t0 = time.time()
    res["naive"] = evaluate(titles, docs, rows)
    print(f"eval time {time.time() - t0:.1f}s", file=sys.stderr)
    R, vals, mu = pca(docs)
    res["pca (rotation, as in Swift)"] = evaluate(titles @ R.T, docs @ R.T, rows)
    res["pca centred (x - mean)"] = evaluate((titles - mu) @ R.T, (docs - mu) @ R.T, rows)
    for a in (0.25, 0.5, 1.0):
        W = R / vals.clamp_min(1e-8).pow(a / 2)[:, None]  # partial whitening: scale axis i by lambda_i^(-a/2)
        res[f"pca whitened a={a} centred"] = evaluate((titles - mu) @ W.T, (docs - mu) @ W.T, rows)
    return res


# ----------------------------------------------------------------------------- adaptors

class Linear(torch.nn.Module):
    """y = (x - b) W^T, W 384x384 initialised at the PCA rotation (b at the doc mean if centred)."""

    def __init__(self, R, mu=None, learn_bias=False):
        super().__init__()
        self.W = torch.nn.Parameter(R.clone())
        b = mu.clone() if mu is not None else torch.zeros(D)
        self.b = torch.nn.Parameter(b, requires_grad=learn_bias)

    def forward(self, x):
        return (x - self.b) @ self.W.T


class LowRankResidual(Linear):
    """y = PCA(x) + (x U) V^T: the PCA rotation (fixed or learnt) plus a rank-r correction."""

    def __init__(self, R, mu=None, rank=64, learn_base=False):
        super().__init__(R, mu)
        self.W.requires_grad_(learn_base)
        self.U = torch.nn.Parameter(torch.randn(D, rank) * (1 / math.sqrt(D)))
        self.V = torch.nn.Parameter(torch.zeros(D, rank))

    def forward(self, x):
        x = x - self.b
        return x @ self.W.T + (x @ self.U) @ self.V.T


class MLP(Linear):
    """y = PCA-init linear(x) + MLP(x) (one hidden layer, GELU, zero-initialised output)."""

    def __init__(self, R, mu=None, hidden=512):
        super().__init__(R, mu)
        self.l1 = torch.nn.Linear(D, hidden)
        self.l2 = torch.nn.Linear(hidden, D)
        torch.nn.init.zeros_(self.l2.weight)
        torch.nn.init.zeros_(self.l2.bias)

    def forward(self, x):
        x = x - self.b
        return x @ self.W.T + self.l2(F.gelu(self.l1(x)))


# ----------------------------------------------------------------------------- losses

def cos_matrix(a, b):
    return F.normalize(a, dim=1) @ F.normalize(b, dim=1).T


def loss_pairwise(ya, yb, target, m, kind, tau):
    """In-batch similarity matching on prefix m: ya (B x D) vs yb (C x D), target (B x C) raw
    full-dim cosines. kind = mse | kl (row softmax with temperature tau)."""
    s = cos_matrix(ya[:, :m], yb[:, :m])
    if kind == "mse":
        return (s - target).pow(2).mean()
    p = F.softmax(target / tau, dim=1)
    return F.kl_div(F.log_softmax(s / tau, dim=1), p, reduction="batchmean")


RECIPES = {}


def recipe(name, **kw):
    base = dict(arch="linear", centre=True, loss="kl", tau=0.05, batch=1024, lr=1e-3, epochs=10,
                seed=0, weights=None, nn_k=0, nn_weight=1.0, nn_tau=0.05, full_raw=False,
                pair_weight=1.0, rank=64, hidden=512, supervised=False, sup_tau=0.05, dims=DIMS,
                wd=0.0, orth=0.0, init="pca", whiten=0.0, group=1, group_k=10, pq_weight=0.0, pq_cos=0.65, pq_kind="cov", pq_tau=0.05,
                pq_spread=0.0, nn_anchors=0)
    base.update(kw)
    RECIPES[name] = base


# Grid of recipes (tried in this order; see the report).
recipe("lin-mse", loss="mse")
recipe("lin-kl-t05", loss="kl", tau=0.05)
recipe("lin-kl-t02", loss="kl", tau=0.02)
recipe("lin-kl-t10", loss="kl", tau=0.10)
recipe("lin-kl-nn", loss="kl", tau=0.05, nn_k=20)
recipe("lin-nn-only", loss="kl", pair_weight=0.0, nn_k=20)
recipe("lin-kl-nn-fullraw", loss="kl", tau=0.05, nn_k=20, full_raw=True, dims=(32, 64, 128, 256))
recipe("lowrank-kl-nn", arch="lowrank", loss="kl", tau=0.05, nn_k=20, rank=128)
recipe("mlp-kl-nn", arch="mlp", loss="kl", tau=0.05, nn_k=20, hidden=512)
recipe("sup-lin", supervised=True, loss="kl", tau=0.05, nn_k=0, sup_tau=0.05)


def build(cfg, docs):
    R, vals, mu = pca(docs)
    centre = mu if cfg["centre"] else None
    if cfg["whiten"]:
        # start from partial PCA whitening: axis i scaled by (lambda_i / mean lambda)^(-a/2)
        R = R * (vals / vals.mean()).clamp_min(1e-8).pow(-cfg["whiten"] / 2)[:, None]
    if cfg["arch"] == "linear":
        return Linear(R, centre)
    if cfg["arch"] == "lowrank":
        return LowRankResidual(R, centre, rank=cfg["rank"])
    if cfg["arch"] == "mlp":
        return MLP(R, centre, hidden=cfg["hidden"])
    raise ValueError(cfg["arch"])


def train(cfg, docs, titles, rows, log=print):
    g = torch.Generator().manual_seed(cfg["seed"])
    torch.manual_seed(cfg["seed"])
    model = build(cfg, docs)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg["lr"], weight_decay=cfg["wd"])
    n = docs.shape[0]
    steps_per_epoch = cfg.get("steps") or n // cfg["batch"]
    total = steps_per_epoch * cfg["epochs"]
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 50) * 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    weights = {int(k): v for k, v in (cfg["weights"] or {m: 1.0 for m in cfg["dims"]}).items()}
    if cfg["nn_k"] or cfg["pq_weight"]:
        nn_idx, nn_sim = knn(docs)
        nn_idx, nn_sim = nn_idx[:, :cfg["nn_k"]], nn_sim[:, :cfg["nn_k"]]
    if cfg["supervised"]:
        sq, srow = extra_titles(rows)
    if cfg["group"] > 1:
        grp_idx, _ = knn(docs)
    if cfg["pq_weight"]:
        mu_docs = docs.mean(0)
        xc = docs - mu_docs
        chol = torch.linalg.cholesky((xc.T @ xc) / n + 1e-6 * torch.eye(D))
    t0 = time.time()
    step = 0
    for epoch in range(cfg["epochs"]):
        perm = torch.randperm(n, generator=g)
        run = 0.0
        for b in range(steps_per_epoch):
            ids = perm[b * cfg["batch"]:(b + 1) * cfg["batch"]]
            if cfg["group"] > 1:
                # hard-negative batches: B/group anchors, each with group-1 of its group_k
                # full-dim nearest neighbours (so the in-batch loss sees local structure)
                a = ids[:cfg["batch"] // cfg["group"]]
                pick = torch.randint(0, cfg["group_k"], (len(a), cfg["group"] - 1), generator=g)
                ids = torch.cat([a, grp_idx[a].gather(1, pick).reshape(-1)])
            x = docs[ids]
            y = model(x)
            loss = 0.0
            if cfg["pair_weight"] and not cfg["supervised"]:
                target = x @ x.T
                eye = torch.eye(len(ids), dtype=torch.bool)
                target = target.masked_fill(eye, -1e4 if cfg["loss"] == "kl" else 1.0)
                for m in cfg["dims"]:
                    if cfg["loss"] == "kl":
                        s = cos_matrix(y[:, :m], y[:, :m]).masked_fill(eye, -1e4)
                        l = F.kl_div(F.log_softmax(s / cfg["tau"], 1), F.softmax(target / cfg["tau"], 1), reduction="batchmean")
                    else:
                        l = (cos_matrix(y[:, :m], y[:, :m]) - target).pow(2).mean()
                    loss = loss + cfg["pair_weight"] * weights[m] * l
            if cfg["nn_k"] and not cfg["supervised"]:
                k = cfg["nn_k"]
                A = cfg["nn_anchors"] or len(ids)        # anchors: the first A of the batch
                nb = nn_idx[ids[:A]]                    # A x k
                yn = model(docs[nb.reshape(-1)]).view(A, k, -1)
            if cfg["nn_k"] and cfg["nn_weight"] and not cfg["supervised"]:
                # rank loss: each anchor against its k full-dim neighbours + the whole batch
                # (in-batch negatives); KL between full-dim and prefix softmax over that set.
                self_mask = torch.zeros(A, len(ids), dtype=torch.bool)
                self_mask[torch.arange(A), torch.arange(A)] = True
                t_nn = nn_sim[ids[:A]]                  # A x k (raw)
                t_neg = (x[:A] @ x.T).masked_fill(self_mask, -1e4)
                p = F.softmax(torch.cat([t_nn, t_neg], 1) / cfg["nn_tau"], 1)
                for m in cfg["dims"]:
                    yb = F.normalize(y[:, :m], dim=1)
                    ya = yb[:A]
                    s_nn = torch.bmm(F.normalize(yn[:, :, :m], dim=2), ya[:, :, None])[:, :, 0]
                    s_neg = (ya @ yb.T).masked_fill(self_mask, -1e4)
                    s = torch.cat([s_nn, s_neg], 1) / cfg["nn_tau"]
                    l = F.kl_div(F.log_softmax(s, 1), p, reduction="batchmean")
                    loss = loss + cfg["nn_weight"] * weights[m] * l
            if cfg["pq_weight"] and not cfg["supervised"]:
                # pseudo-queries: each document moved to cosine pq_cos from itself along a random
                # direction (iso: isotropic; cov: shaped like the documents' covariance; mix:
                # another document's centred vector); the prefix must rank the source document,
                # its k neighbours and the batch as the full-dim raw vectors rank them.
                if cfg["pq_kind"] == "iso":
                    u = torch.randn(x.shape, generator=g)
                elif cfg["pq_kind"] == "cov":
                    u = torch.randn(x.shape, generator=g) @ chol.T
                else:
                    u = docs[torch.randint(0, n, (len(ids),), generator=g)] - mu_docs
                u = F.normalize(u - (u * x).sum(1, keepdim=True) * x, dim=1)
                c = cfg["pq_cos"]
                if cfg["pq_spread"]:
                    c = c + cfg["pq_spread"] * (2 * torch.rand(len(ids), 1, generator=g) - 1)
                qa = F.normalize(c * x + (1 - c ** 2) ** 0.5 * u, dim=1)
                r_ = A if cfg["nn_k"] else len(ids)     # pseudo-query rows (anchors with neighbours)
                qa = qa[:r_]
                yq = model(qa)
                cand_t = [qa @ x.T]
                if cfg["nn_k"]:
                    cand_t.insert(0, torch.bmm(docs[nb.reshape(-1)].view(A, k, -1), qa[:, :, None])[:, :, 0])
                p = F.softmax(torch.cat(cand_t, 1) / cfg["pq_tau"], 1)
                for m in cfg["dims"]:
                    qm = F.normalize(yq[:, :m], dim=1)
                    cand = [qm @ F.normalize(y[:, :m], dim=1).T]
                    if cfg["nn_k"]:
                        cand.insert(0, torch.bmm(F.normalize(yn[:, :, :m], dim=2), qm[:, :, None])[:, :, 0])
                    s = torch.cat(cand, 1) / cfg["pq_tau"]
                    l = F.kl_div(F.log_softmax(s, 1), p, reduction="batchmean")
                    loss = loss + cfg["pq_weight"] * weights[m] * l
            if cfg["supervised"]:
                # InfoNCE: titles (not evaluation titles) vs their documents, in-batch negatives.
                sel = torch.randint(0, sq.shape[0], (cfg["batch"],), generator=g)
                yq, yd = model(sq[sel]), model(docs[srow[sel]])
                lab = torch.arange(len(sel))
                for m in cfg["dims"]:
                    s = cos_matrix(yq[:, :m], yd[:, :m]) / cfg["sup_tau"]
                    loss = loss + weights[m] * F.cross_entropy(s, lab)
            if cfg["orth"]:
                W = model.W
                loss = loss + cfg["orth"] * (W @ W.T - torch.eye(D)).pow(2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            run += float(loss.detach())
        log(f"  epoch {epoch + 1}/{cfg['epochs']} loss {run / steps_per_epoch:.5f} ({time.time() - t0:.0f}s)")
    return model, time.time() - t0


@torch.no_grad()
def evaluate_model(model, docs, titles, rows, full_raw):
    model.eval()
    yq = torch.cat([model(titles[s:s + 4096]) for s in range(0, titles.shape[0], 4096)])
    yd = torch.cat([model(docs[s:s + 4096]) for s in range(0, docs.shape[0], 4096)])
    res = evaluate(yq, yd, rows)
    res_raw = {384: {"mrr10": 0.5654, "r10": None}}  # raw full-dim reference (baselines: naive 384)
    return res, res_raw


def slug(name):
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


@torch.no_grad()
def exact_topk(q, d, k=10, chunk=500):
    """Each query's exact top-k documents by raw full-dimension cosine."""
    qn, dn = F.normalize(q, dim=1), F.normalize(d, dim=1)
    exact = []
    for s in range(0, q.shape[0], chunk):
        exact.append((qn[s:s + chunk] @ dn.T).topk(k, dim=1).indices)
    exact = torch.cat(exact)
    return exact


def funnel(yq, yd, exact, dims=(32, 64, 128), k=10, goal=0.95, chunk=500):
    """For each prefix, the smallest shortlist size S with mean recall@k >= goal against exact
    raw 384-d top-k (what the funnel's first stage needs)."""
    out = {}
    for m in dims:
        qm = F.normalize(yq[:, :m], dim=1).contiguous()
        dm = F.normalize(yd[:, :m], dim=1).contiguous()
        ranks = []
        for s in range(0, qm.shape[0], chunk):
            sc = (qm[s:s + chunk] @ dm.T).numpy()
            tgt = np.take_along_axis(sc, exact[s:s + chunk].numpy(), 1)  # chunk x k
            # rank of each exact top-k item in the prefix ordering (1-based)
            ranks.append(np.stack([(sc > tgt[:, j:j + 1]).sum(1) + 1 for j in range(k)], 1))
        ranks = np.concatenate(ranks).ravel()
        ranks.sort()
        # mean recall at S = share of (query, item) pairs with rank <= S
        need = int(ranks[int(math.ceil(goal * len(ranks))) - 1])
        out[m] = need
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["baselines", "train", "list", "prep", "funnel"])
    ap.add_argument("--recipe", default="lin-kl-t05")
    ap.add_argument("--set", action="append", default=[], help="override a recipe field, e.g. --set tau=0.02")
    ap.add_argument("--tag", default="")
    ap.add_argument("--models", nargs="*", default=[], help="funnel: saved adaptors (tools/bench/out/adaptor_cache/*.pt)")
    args = ap.parse_args()
    if args.cmd == "list":
        for k, v in RECIPES.items():
            print(k, json.dumps(v))
        return
    docs, titles, rows = load()
    if args.cmd == "prep":
        knn(docs)
        extra_titles(rows)
        return
    if args.cmd == "funnel":
        exact = exact_topk(titles, docs)
        R, _, _ = pca(docs)
        heads = {"naive": (titles, docs), "pca": (titles @ R.T, docs @ R.T)}
        for path in args.models:
            saved = torch.load(path)
            if "cfg" not in saved:  # early runs saved the bare state dict under the recipe's name
                saved = {"cfg": RECIPES[os.path.basename(path)[:-3]], "state": saved}
            model = build(saved["cfg"], docs)
            model.load_state_dict(saved["state"])
            model.eval()
            with torch.no_grad():
                heads[os.path.basename(path)] = (model(titles), model(docs))
        for name, (yq, yd) in heads.items():
            need = funnel(yq, yd, exact)
            print(f"{name:40s} shortlist for recall@10>=0.95 vs exact 384-d: " + "  ".join(f"{m}-d: {n}" for m, n in need.items()), flush=True)
        return
    if args.cmd == "baselines":
        for name, res in baselines(docs, titles, rows).items():
            print(f"{name:32s} {fmt(res)}")
            record(name, res)
        return
    cfg = dict(RECIPES[args.recipe])
    for kv in args.set:
        k, v = kv.split("=", 1)
        cfg[k] = json.loads(v)
    name = args.recipe + (f"[{args.tag}]" if args.tag else "") + "".join(f" {kv}" for kv in args.set)
    print(f"{name}: {json.dumps(cfg)}", flush=True)
    model, secs = train(cfg, docs, titles, rows, log=lambda s: print(s, flush=True))
    res, raw = evaluate_model(model, docs, titles, rows, cfg["full_raw"])
    ref = raw[384]["mrr10"]
    print(f"{name}: train {secs:.0f}s  {fmt(res, ref)}  (raw 384: {ref:.3f})", flush=True)
    record(name, res, {"cfg": cfg, "train_s": round(secs, 1)})
    os.makedirs(CACHE, exist_ok=True)
    torch.save({"cfg": cfg, "state": model.state_dict()}, os.path.join(CACHE, slug(name) + ".pt"))


if __name__ == "__main__":
    main()
