#!/usr/bin/env python3
"""Encoder throughput, side by side on the same texts and cores: mrl (fp32 and int8), PyTorch
(sentence-transformers; fp32 and dynamic int8 of its linear layers) and ONNX Runtime (the same
model exported with torch.onnx.export, all graph optimizations; fp32 and
onnxruntime.quantization.quantize_dynamic of that export), with each one's worst and mean cosine
against the reference fixture.

Run through tools/bench/encoder.sh (it makes the virtualenv and a release build).
Every contender keeps the machine's environment (OPENBLAS_CORETYPE as set) and 2 threads.
Writes tools/bench/out/encoder_peers.json and prints a markdown table.
"""
import argparse, gzip, json, os, subprocess, sys, tempfile, time

os.environ["HF_HUB_OFFLINE"] = "1"  # the model is read from models/, never fetched
import numpy as np
import onnxruntime as ort
import torch
from sentence_transformers import SentenceTransformer
from transformers import AutoModel, AutoTokenizer

ap = argparse.ArgumentParser()
ap.add_argument("--corpus", default="data/debian-packages.jsonl.gz")
ap.add_argument("--count", type=int, default=5000)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--model", default="models/all-MiniLM-L6-v2")
ap.add_argument("--fixture", default="Tests/EmbeddingTests/Fixtures/minilm-reference.jsonl")
ap.add_argument("--mrl", default=".build/release/mrl")
args = ap.parse_args()

docs, titles = [], []
with gzip.open(args.corpus, "rt") as f:
    for line in f:
        row = json.loads(line)
        docs.append(row["text"]); titles.append(row["title"])
        if len(docs) == args.count:
            break
fixture = [json.loads(l) for l in open(args.fixture)]
reference = np.array([r["embedding"] for r in fixture], dtype=np.float32)
fixture_texts = [r["text"] for r in fixture]

def cosines(vectors):
    v = np.asarray(vectors, dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    c = (v * reference).sum(axis=1)
    return {"worst_cosine": float(c.min()), "mean_cosine": float(c.mean())}

def timed(fn, texts):
    fn(texts[:64])  # warm-up
    start = time.perf_counter()
    fn(texts)
    return len(texts) / (time.perf_counter() - start)

results = []

# mrl: its own benchmark command (mrl-bench, beside mrl), same texts (the first --count of the corpus).
for precision in ["fp32", "int8"]:
    out = subprocess.run([os.path.join(os.path.dirname(args.mrl), "mrl-bench"), "encoder", "--count", str(args.count),
                          "--corpus", args.corpus, "--precision", precision, "--json"], check=True, capture_output=True, text=True).stdout
    mrl = {r["set"]: r["per_second"] for r in json.loads(out)["results"]}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "fixture.jsonl")
        with open(path, "w") as f:
            for i, t in enumerate(fixture_texts):
                f.write(json.dumps({"id": str(i), "text": t}) + "\n")
        subprocess.run([args.mrl, "embed", path, "-o", os.path.join(tmp, "fixture.npy"), "--precision", precision], check=True, capture_output=True)
        quality = cosines(np.load(os.path.join(tmp, "fixture.npy")))
    results.append({"system": f"mrl ({precision}: {json.loads(out)['kernels']})", "docs_per_s": mrl["documents"], "titles_per_s": mrl["titles"], **quality})

# PyTorch via sentence-transformers.
torch.set_num_threads(args.threads)
st = SentenceTransformer(args.model, device="cpu")
encode = lambda texts: st.encode(texts, batch_size=32, normalize_embeddings=True)
results.append({"system": f"PyTorch {torch.__version__} (sentence-transformers)", "docs_per_s": timed(encode, docs),
                "titles_per_s": timed(encode, titles), **cosines(encode(fixture_texts))})
st_int8 = SentenceTransformer(args.model, device="cpu")
# In place: sentence-transformers' auto_model is a read-only view of the module forward() runs.
torch.ao.quantization.quantize_dynamic(st_int8, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
encode_int8 = lambda texts: st_int8.encode(texts, batch_size=32, normalize_embeddings=True)
results.append({"system": f"PyTorch {torch.__version__} dynamic int8 (quantize_dynamic, Linear)", "docs_per_s": timed(encode_int8, docs),
                "titles_per_s": timed(encode_int8, titles), **cosines(encode_int8(fixture_texts))})

# ONNX Runtime on the same model, exported here.
tokenizer = AutoTokenizer.from_pretrained(args.model)
with tempfile.TemporaryDirectory() as tmp:
    onnx_path = os.path.join(tmp, "model.onnx")
    bert = AutoModel.from_pretrained(args.model).eval()

    class Encoder(torch.nn.Module):  # a fixed signature: BertModel.forward's has changed across versions
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    sample = tokenizer(["export"], return_tensors="pt")
    with torch.no_grad():
        torch.onnx.export(Encoder().eval(), (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]), onnx_path,
                          input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["last_hidden_state"],
                          dynamic_axes={n: {0: "batch", 1: "seq"} for n in ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]},
                          opset_version=17, dynamo=False)
    int8_path = os.path.join(tmp, "model.int8.onnx")
    from onnxruntime.quantization import QuantType, quantize_dynamic
    quantize_dynamic(onnx_path, int8_path, weight_type=QuantType.QInt8)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL

    def ort_encode(texts, batch=32):
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # as sentence-transformers does
        out = [None] * len(texts)
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            enc = tokenizer([texts[i] for i in idx], padding=True, truncation=True, max_length=256, return_tensors="np")
            hidden = session.run(None, {k: enc[k].astype(np.int64) for k in ["input_ids", "attention_mask", "token_type_ids"]})[0]
            mask = enc["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(1) / mask.sum(1)
            pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
            for j, i in enumerate(idx):
                out[i] = pooled[j]
        return out

    for name, model_path in [(f"ONNX Runtime {ort.__version__}", onnx_path),
                             (f"ONNX Runtime {ort.__version__} dynamic int8 (quantize_dynamic)", int8_path)]:
        session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
        results.append({"system": name, "docs_per_s": timed(ort_encode, docs), "titles_per_s": timed(ort_encode, titles),
                        **cosines(ort_encode(fixture_texts))})

def peak_rss_mb(command):
    """Peak resident memory of `command`, measured by a lean launcher (see peak_rss.py)."""
    launcher = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peak_rss.py")
    return float(subprocess.run(["/usr/bin/python3", launcher, *command], check=True, capture_output=True, text=True).stdout)

# Peak memory embedding the same documents: mrl embed against a PyTorch process doing the same.
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "docs.jsonl")
    with open(path, "w") as f:
        for i, t in enumerate(docs):
            f.write(json.dumps({"id": str(i), "text": t}) + "\n")
    results[0]["peak_rss_mb"] = peak_rss_mb([args.mrl, "embed", path, "-o", os.path.join(tmp, "out.npy")])
    torch_script = ("import json,sys,torch;torch.set_num_threads(%d);from sentence_transformers import SentenceTransformer;"
                    "m=SentenceTransformer(sys.argv[1],device='cpu');m.encode([json.loads(l)['text'] for l in open(sys.argv[2])],batch_size=32)"
                    % args.threads)
    results[2]["peak_rss_mb"] = peak_rss_mb([sys.executable, "-c", torch_script, args.model, path])

os.makedirs("tools/bench/out", exist_ok=True)
json.dump({"count": args.count, "threads": args.threads, "results": results}, open("tools/bench/out/encoder_peers.json", "w"), indent=1)
base = {k: results[0][k] for k in ("docs_per_s", "titles_per_s")}
int8 = {k: results[1][k] for k in ("docs_per_s", "titles_per_s")}
print(f"{args.count} Debian descriptions and {args.count} titles, {args.threads} threads, one run\n")
print("| system | docs/s | titles/s | mrl fp32 ÷ it (docs / titles) | mrl int8 ÷ it (docs / titles) | cosine vs reference: worst / mean | peak RSS embedding the docs |")
print("|---|---|---|---|---|---|---|")
for r in results:
    rss = f"{r['peak_rss_mb']:.0f} MB" if "peak_rss_mb" in r else "-"
    print(f"| {r['system']} | {r['docs_per_s']:.1f} | {r['titles_per_s']:.1f} | "
          f"{base['docs_per_s'] / r['docs_per_s']:.2f}× / {base['titles_per_s'] / r['titles_per_s']:.2f}× | "
          f"{int8['docs_per_s'] / r['docs_per_s']:.2f}× / {int8['titles_per_s'] / r['titles_per_s']:.2f}× | "
          f"{r['worst_cosine']:.5f} / {r['mean_cosine']:.6f} | {rss} |")
