#!/usr/bin/env python3
"""Round trip through qvg with NumPy only: write K tensors as .npy and .safetensors, quantize them with
`qvg quantize`, read back what `qvg dequantize --dtype f32` wrote, and print the error.

Usage: python3 examples/python/roundtrip.py [WORKDIR]   (QVG=/path/to/qvg overrides the launcher)
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QVG = os.environ.get("QVG", os.path.join(ROOT, "qvg"))


def to_bf16_bits(x):
    """float32 -> bf16 bit patterns (uint16), round to nearest even; NumPy has no bf16 dtype."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def save_safetensors(path, tensors):
    """A .safetensors file written by hand: 8-byte header length, JSON header, data. tensors: name -> (dtype, array)."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, (dtype, a) in tensors.items():
        raw = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little") + h + b"".join(blobs))


def load_safetensors(path, name):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    e = header[name]
    dtype = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}[e["dtype"]]
    a = np.frombuffer(data[e["data_offsets"][0]:e["data_offsets"][1]], dtype=dtype).reshape(e["shape"])
    if e["dtype"] == "BF16":
        a = (a.astype(np.uint32) << 16).view(np.float32)
    return a


def qvg(*args):
    cmd = [QVG, *args]
    print("$ qvg " + " ".join(args), flush=True)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    sys.stdout.write(out.stdout)
    sys.stderr.write(out.stderr)


def rel_l2(ref, got):
    ref = ref.astype(np.float64)
    return float(np.linalg.norm(got.astype(np.float64) - ref) / np.linalg.norm(ref))


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="qvg-example-")
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(0)
    # A K-like tensor [H, S, D]: per-channel magnitudes and a few outlier channels, as keys have.
    h, s, d = 8, 1024, 128
    channel = np.exp(rng.normal(0, 0.5, size=d)).astype(np.float32)
    channel[rng.choice(d, 4, replace=False)] *= 8
    k = (rng.normal(size=(h, s, d)) * channel).astype(np.float32)
    k_bf16 = (to_bf16_bits(k).astype(np.uint32) << 16).view(np.float32)  # what qvg quantizes

    # 1. float32 .npy, [H,S,D]
    npy = os.path.join(work, "k.npy")
    np.save(npy, k)
    qvg("quantize", npy, "-o", os.path.join(work, "k.qkv"))
    qvg("dequantize", os.path.join(work, "k.qkv"), "--dtype", "f32", "-o", os.path.join(work, "k_deq.npy"))
    back = np.load(os.path.join(work, "k_deq.npy"))
    assert back.dtype == np.float32 and back.shape == k.shape, (back.dtype, back.shape)
    print(f"npy:         {back.dtype} {list(back.shape)}, rel-L2 error {rel_l2(k_bf16, back):.4f}")

    # 2. bf16 .safetensors in flash-attention's [B,S,H,D] layout, next to an int64 position tensor
    st = os.path.join(work, "cache.safetensors")
    bshd = k.transpose(1, 0, 2)[None]  # [1, S, H, D]
    save_safetensors(st, {"k": ("BF16", to_bf16_bits(bshd)), "pos": ("I64", np.arange(s, dtype=np.int64))})
    qvg("inspect", st)
    qvg("quantize", st, "--tensor", "k", "--layout", "bshd", "-o", os.path.join(work, "cache_k.qkv"))
    out = os.path.join(work, "cache_k_deq.safetensors")
    qvg("dequantize", os.path.join(work, "cache_k.qkv"), "--dtype", "f32", "-o", out)
    back = load_safetensors(out, "k")
    assert back.shape == bshd.shape, back.shape
    print(f"safetensors: {back.dtype} {list(back.shape)}, rel-L2 error {rel_l2(k_bf16.transpose(1, 0, 2)[None], back):.4f}")


if __name__ == "__main__":
    main()
