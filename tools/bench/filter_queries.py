"""The files tools/bench/filter_data.py writes, as filter_peers.py and filter_mrl.py read them."""
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tools/bench/out"
K = 10


def read_jsonl(path):
    with open(path, "rb") as lines:
        return [orjson.loads(line) for line in lines]


def documents(name):
    return read_jsonl(OUT / f"filter-{name}-docs.jsonl")


def queries_by_kind(name, split, kinds=""):
    """{kind: [query, ...]} of filter-NAME-SPLIT.jsonl, in file order; only `kinds` (comma-separated) when given."""
    wanted = set(filter(None, kinds.split(",")))
    out = {}
    for query in read_jsonl(OUT / f"filter-{name}-{split}.jsonl"):
        if not wanted or query["kind"] in wanted:
            out.setdefault(query["kind"], []).append(query)
    return out


def recall(found, truth):
    """|found ∩ truth| / |truth|: truth holds fewer than K ids when fewer rows match."""
    return len(set(found) & set(truth)) / len(truth)
