#!/usr/bin/env python3
"""Side by side: FAISS k-means and `qvg quantize` on the same generated bf16 tensor and thread count.

Generates a clustered [1, H, S, D] bf16 tensor (per-head channel offsets with one outlier channel in 16,
Kc cluster centres, tokens scattered around them, like bench's SyntheticKv) into a .safetensors file,
then runs, each as a fresh process, RUNS times:

  faiss  python3 -c <k-means of every head: Kc centroids, 2 iterations, then one final assignment>
  qvg    ./qvg quantize FILE -o OUT.qkv  (default options: auto implementation, every core; or --threads)

and prints per run the wall time, CPU time (user + system) and peak RSS of each process, FAISS's own
k-means time, the medians and the ratios. Needs Debian's python3-faiss and python3-numpy (run with
/usr/bin/python3) and, for a fair FAISS, an optimised BLAS (libopenblas0-openmp); the BLAS in use is
printed. FAISS runs with OMP_WAIT_POLICY=PASSIVE: on a machine shared with other work, spinning OpenMP
threads lose most of their time slices.

  /usr/bin/python3 bench/peers/faiss_vs_qvg.py [--threads 2] [--runs 5] [--heads 32 --tokens 29640]
"""
import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The FAISS side, run as its own process so that its time includes start-up and reading the file, as
# qvg's does. It prints one JSON line with the k-means time measured inside.
FAISS_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np, faiss
path, heads, tokens, dim, kc, threads = sys.argv[1], *map(int, sys.argv[2:7])
faiss.omp_set_num_threads(threads)
with open(path, 'rb') as f:
    n = int.from_bytes(f.read(8), 'little')
    f.seek(8 + n)
    bits = np.frombuffer(f.read(), dtype='<u2')
x = (bits.astype(np.uint32) << 16).view(np.float32).reshape(heads, tokens, dim)
t1 = time.perf_counter()
for h in range(heads):
    xh = np.ascontiguousarray(x[h])
    km = faiss.Kmeans(dim, kc, niter=2, seed=1234 + h, max_points_per_centroid=tokens)
    km.train(xh)
    _, ids = km.index.search(xh, 1)
t2 = time.perf_counter()
print(json.dumps({"load_s": t1 - t0, "kmeans_s": t2 - t1}))
"""


def generate(path, heads, tokens, dim, kc, seed):
    """The clustered tensor as bf16 (round to nearest even) in a one-tensor .safetensors file."""
    import numpy as np
    rng = np.random.default_rng(seed)
    out = np.empty((heads, tokens, dim), dtype=np.uint16)
    outlier = (np.arange(dim) % 16 == 5)
    for h in range(heads):
        offset = rng.standard_normal(dim, dtype=np.float32)
        offset += outlier * np.where(rng.random(dim) < 0.5, -8.0, 8.0).astype(np.float32)
        centres = offset + rng.standard_normal((kc, dim), dtype=np.float32)
        ids = rng.integers(0, kc, tokens)
        xh = centres[ids] + np.float32(0.3) * rng.standard_normal((tokens, dim), dtype=np.float32)
        b = xh.astype(np.float32).view(np.uint32)
        out[h] = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.uint16)
    header = json.dumps({"x": {"dtype": "BF16", "shape": [1, heads, tokens, dim],
                               "data_offsets": [0, out.nbytes]}}).encode()
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)))
        f.write(header)
        out.tofile(f)


def run(cmd, env=None):
    """Runs cmd; returns (wall seconds, CPU seconds, peak RSS of that process in MB, stdout)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - start
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if p.returncode != 0:
            sys.exit(f"faiss_vs_qvg: {cmd[0]} failed ({p.returncode}):\n{err.read().decode()[-2000:]}")
        return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.read().decode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=29640)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--centroids", type=int, default=256)
    ap.add_argument("--seed", type=int, default=20260201)
    ap.add_argument("--dir", default=tempfile.gettempdir(), help="where the tensor and the .qkv go")
    ap.add_argument("--qvg-args", default="", help="extra arguments for qvg quantize, e.g. '--impl simd'")
    a = ap.parse_args()

    import faiss
    path = os.path.join(a.dir, f"peers-{a.heads}x{a.tokens}x{a.dim}-{a.seed}.safetensors")
    if not os.path.exists(path):
        generate(path, a.heads, a.tokens, a.dim, a.centroids, a.seed)
    qkv = os.path.join(a.dir, f"peers-{os.getpid()}.qkv")
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OPENBLAS_NUM_THREADS=str(a.threads),
               OMP_WAIT_POLICY="PASSIVE")
    faiss_cmd = [sys.executable, "-c", FAISS_CHILD, path, str(a.heads), str(a.tokens), str(a.dim),
                 str(a.centroids), str(a.threads)]
    qvg_cmd = [os.path.join(ROOT, "qvg"), "quantize", path, "-o", qkv, "--threads", str(a.threads)]
    qvg_cmd += a.qvg_args.split()
    # The launcher builds (and makes its start-up cache) when needed: do that before timing.
    run(qvg_cmd)

    print(f"tensor [1,{a.heads},{a.tokens},{a.dim}] bf16 ({os.path.getsize(path) / 1e6:.0f} MB), "
          f"Kc {a.centroids}, {a.threads} threads; faiss {faiss.__version__}, BLAS {_blas()}")
    print(f"load before: {_uptime()}")
    rows = []
    for i in range(a.runs):
        fw, fc, fr, fo = run(faiss_cmd, env)
        inner = json.loads(fo.strip().splitlines()[-1])
        qw, qc, qr, _ = run(qvg_cmd)
        rows.append((fw, inner["kmeans_s"], fr, qw, qr, fc, qc))
        print(f"run {i + 1}: faiss {fw:.2f} s wall (k-means {inner['kmeans_s']:.2f} s), {fc:.2f} CPU-s, {fr:.0f} MB peak; "
              f"qvg {qw:.2f} s wall, {qc:.2f} CPU-s, {qr:.0f} MB peak")
    os.remove(qkv)
    med = [statistics.median(r[j] for r in rows) for j in range(7)]
    print(f"load after: {_uptime()}")
    print(f"median: faiss {med[0]:.2f} s wall (k-means {med[1]:.2f} s), {med[5]:.2f} CPU-s, {med[2]:.0f} MB; "
          f"qvg {med[3]:.2f} s wall, {med[6]:.2f} CPU-s, {med[4]:.0f} MB")
    print(f"ratio: faiss whole process / qvg = {med[0] / med[3]:.2f}x; "
          f"faiss k-means alone / qvg whole process = {med[1] / med[3]:.2f}x; "
          f"CPU-seconds faiss / qvg = {med[5] / med[6]:.2f}x")


def _uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _blas():
    try:
        return os.path.realpath("/lib/x86_64-linux-gnu/libblas.so.3")
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
