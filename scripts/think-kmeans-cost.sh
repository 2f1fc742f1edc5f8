#!/usr/bin/env bash
# What ThinK's channel pruning (SPEC §16.6) saves in k-means: `qvg demo` encodes the city K sample at D = 128 and
# its 64 ThinK channels per head (queries: the K rows of the newest 64 tokens, SPEC §14.4), each as both tensors of
# a demo run so that the second encode is warm, RUNS times; prints each run's warm encode time and the medians.
# Usage: scripts/think-kmeans-cost.sh [RUNS] [qvg demo options...]   (default 3 runs; needs python3 with NumPy)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${1:-3}"
shift || true
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/d128" "$work/d64"
python3 - "$root/conformance/city_a_k.npy" "$work" <<'EOF'
import sys
import numpy as np
k = np.load(sys.argv[1])                       # bf16 bit patterns, [1, H, S, 128]
x = (k.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
score = (x[:, :, -64:, :] ** 2).sum(axis=2) * (x ** 2).sum(axis=2)   # [1, H, D]: a_j * b_j
keep = np.sort(np.argsort(-score, axis=-1, kind="stable")[..., :64], axis=-1)
thin = np.take_along_axis(k, keep[:, :, None, :], axis=3)
for d, t in (("d128", k), ("d64", np.ascontiguousarray(thin))):
    for name in ("city_a_k.npy", "city_a_v.npy"):
        np.save(f"{sys.argv[2]}/{d}/{name}", t)
EOF
uptime
for d in d128 d64; do
  times=()
  for _ in $(seq "$runs"); do
    t="$("$root/qvg" demo --data "$work/$d" "$@" 2>/dev/null | sed -n 's/.*wall time: encode \([0-9.]*\) s.*/\1/p' | tail -1)"
    times+=("$t")
  done
  median="$(printf '%s\n' "${times[@]}" | sort -g | sed -n "$(( (runs + 1) / 2 ))p")"
  echo "${d#d} channels: warm encode of [1,4,7040,${d#d}] ${times[*]} s; median $median s"
done
