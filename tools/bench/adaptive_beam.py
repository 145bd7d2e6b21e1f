#!/usr/bin/env python3
"""Does widening the beam per query beat one fixed beam at equal recall?

Reads what `mrl-bench ann --per-query FILE` writes (per query: the exact top k and each fixed
beam's hits, scores and distance computations), once for queries that choose the thresholds and
once for held-out queries it reports on. A rule "walk E1; when feature < t, walk E2" is scored
two ways: `restart` (the E2 walk starts afresh: cost E1 + E2, exact from the data) and
`continue` (the walk goes on from E1's state: cost about E2's plus the E1 candidates rescored,
an estimate). t is the feature's quantile on the choosing queries that makes a share of them
extend; the table compares each rule's held-out recall@k and mean distance computations with
the fixed beams' frontier interpolated at that recall.

  python3 tools/bench/adaptive_beam.py --choose deb-choose.out --eval deb-eval.out [--k 10]
"""
import argparse
import json

FEATURES = {
    # The k-th best full-dimension similarity after rescoring the short walk's candidates.
    "kth": lambda w, k: w["scores"][k - 1] if len(w["scores"]) >= k else -1.0,
    "top1": lambda w, k: w["scores"][0] if w["scores"] else -1.0,
    # A flat head (1st close to k-th) means many near-ties the beam may have missed: negated so
    # "feature < t" extends the flattest.
    "neg_gap": lambda w, k: -(w["scores"][0] - w["scores"][k - 1]) if len(w["scores"]) >= k else 0.0,
}


def load(path):
    queries = []
    for line in open(path):
        q = json.loads(line)
        q["walks"] = {w["ef"]: w for w in q["walks"]}
        queries.append(q)
    return queries


def recall(walk, exact, k):
    return len(set(walk["ids"][:k]) & set(exact[:k])) / k


def fixed_frontier(queries, k):
    efs = sorted(queries[0]["walks"])
    n = len(queries)
    return [(ef, sum(recall(q["walks"][ef], q["exact"], k) for q in queries) / n,
             sum(q["walks"][ef]["dc"] for q in queries) / n) for ef in efs]


def fixed_cost_at(frontier, target):
    """Mean distance computations the fixed beams need for `target` recall (linear between beams)."""
    points = sorted((r, dc) for _, r, dc in frontier)
    best = [p for p in points if p[0] >= target]
    if not best:
        return None
    hi = min(best, key=lambda p: p[1])
    lo = [p for p in points if p[0] < target and p[1] < hi[1]]
    if not lo:
        return hi[1]
    lo = max(lo, key=lambda p: p[0])
    return lo[1] + (hi[1] - lo[1]) * (target - lo[0]) / (hi[0] - lo[0])


def adaptive(queries, k, feature, e1, e2, t):
    n = len(queries)
    r = restart = cont = fired = 0
    for q in queries:
        w1, w2 = q["walks"][e1], q["walks"][e2]
        if FEATURES[feature](w1, k) < t:
            fired += 1
            r += recall(w2, q["exact"], k)
            restart += w1["dc"] + w2["dc"]
            cont += w2["dc"] + e1
        else:
            r += recall(w1, q["exact"], k)
            restart += w1["dc"]
            cont += w1["dc"]
    return r / n, restart / n, cont / n, fired / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--choose", required=True)
    ap.add_argument("--eval", required=True)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--shares", default="0.1,0.25,0.5")
    ap.add_argument("--features", default=",".join(FEATURES))
    args = ap.parse_args()
    k = args.k
    choose, held = load(args.choose), load(args.eval)
    frontier = fixed_frontier(held, k)
    print("fixed beams (held-out): ef recall dc")
    for ef, r, dc in frontier:
        print(f"  {ef:4d} {r:.3f} {dc:8.0f}")
    efs = sorted(held[0]["walks"])
    rows = []
    for feature in args.features.split(","):
        for i, e1 in enumerate(efs):
            for e2 in efs[i + 1:]:
                values = sorted(FEATURES[feature](q["walks"][e1], k) for q in choose)
                for share in map(float, args.shares.split(",")):
                    t = values[min(len(values) - 1, int(share * len(values)))]
                    r, restart, cont, fired = adaptive(held, k, feature, e1, e2, t)
                    base = fixed_cost_at(frontier, r)
                    if base:
                        rows.append((feature, e1, e2, share, t, r, fired, restart, cont, base))
    print("\nrules beating the fixed frontier on held-out queries (best 25 by the continue estimate's saving):")
    print("feature  E1  E2 share     t  recall fired restart_dc continue_dc fixed_dc@recall  saving(restart/continue)")
    for row in sorted(rows, key=lambda x: x[8] / x[9])[:25]:
        f, e1, e2, share, t, r, fired, restart, cont, base = row
        print(f"{f:8s} {e1:3d} {e2:3d} {share:5.2f} {t:6.3f} {r:.3f} {fired:5.2f} {restart:10.0f} {cont:11.0f} {base:15.0f}"
              f"  {1 - restart / base:+.1%} / {1 - cont / base:+.1%}")


if __name__ == "__main__":
    main()
