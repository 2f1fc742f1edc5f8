#!/usr/bin/env python3
"""Check a QVG implementation against qvg4j's known-answer vectors, with NumPy alone.

The functions below are a small NumPy implementation of SPEC.md, written from it: the downstream path
(smoothing §4, block quantizer §6, packing §6.5, dequantization §7) and qvg4j's deterministic k-means
(§3.1-§3.4, §5). Replace them with calls into your own kernels to check those. Run:

    python3 examples/python/check_vectors.py vectors            # every vector
    python3 examples/python/check_vectors.py vectors quant-int2  # the vectors whose id starts so
    python3 examples/python/check_vectors.py vectors prq- --qkv OUT   # also write OUT/ID.qkv (FORMAT.md) per pipeline vector

Exit status 0 when every vector passes, 1 when one fails.
"""
import json
import sys
from pathlib import Path

import numpy as np

F32 = np.float32


def bf16_round(f):
    """§2.1: float32 -> nearest bf16 (ties to even) as float32; every NaN becomes 0x7FC0."""
    f = np.asarray(f, dtype=F32)
    b = f.view(np.uint32).astype(np.uint64)
    r = ((b + 0x7FFF + ((b >> 16) & 1)) & 0xFFFF0000).astype(np.uint32)
    r = np.where(np.isnan(f), np.uint32(0x7FC00000), r)
    return r.view(F32)


def bf16_bits(f):
    return (np.asarray(f, dtype=F32).view(np.uint32) >> 16).astype(np.uint16)


def from_bf16(bits):
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(F32)


# §2.2: the E4M3FN magnitudes of codes 0x00..0x7E, ascending.
_E4M3 = np.array([(c & 7) * 2.0 ** -9 if c >> 3 == 0 else (1 + (c & 7) / 8) * 2.0 ** ((c >> 3) - 7) for c in range(127)])


def fp8_encode(x):
    """§2.2: round to nearest even on the E4M3FN grid, saturating at ±448; NaN -> 0x7F; the sign kept on zero."""
    x = np.asarray(x, dtype=F32)
    a = np.abs(x.astype(np.float64))
    hi = np.clip(np.searchsorted(_E4M3, a), 1, 126)
    lo = hi - 1
    dl, dh = a - _E4M3[lo], _E4M3[hi] - a
    code = np.where(dl < dh, lo, np.where(dh < dl, hi, np.where(lo % 2 == 0, lo, hi)))
    code = np.where(a >= 448, 126, code)
    code = code | np.where(np.signbit(x), 0x80, 0)
    return np.where(np.isnan(x), 0x7F, code).astype(np.uint8)


def fp8_decode(c):
    c = np.asarray(c, dtype=np.uint8)
    mag = np.where((c & 0x7F) == 0x7F, np.nan, _E4M3[np.minimum(c & 0x7F, 126)])
    return np.where(c & 0x80, -mag, mag).astype(F32)


def kdiv(a, b):
    """§2.3: every in-kernel division a / b is a * (1/b), two roundings."""
    return F32(a) * (F32(1) / F32(b)) if np.isscalar(a) else a * (F32(1) / b)


def round_half_away(y):
    """§2.4: half away from zero, in double."""
    y = y.astype(np.float64)
    return np.sign(y) * np.floor(np.abs(y) + 0.5)


def block_min(b):
    """§2.6: Math.min over the last axis: NaN wins, −0 below +0."""
    m = np.min(b, axis=-1)
    neg_zero = np.any((b == 0) & np.signbit(b), axis=-1)
    return np.where((m == 0) & neg_zero, F32(-0.0), m).astype(F32)


def block_max(b):
    m = np.max(b, axis=-1)
    pos_zero = np.any((b == 0) & ~np.signbit(b), axis=-1)
    return np.where((m == 0) & pos_zero, F32(0.0), m).astype(F32)


def quantize(r, cfg):
    """§6: residual [rows, D] -> (codes [rows, D], stored scales, stored zero points)."""
    rows, dim = r.shape
    g, bits, asym, bf16 = cfg["group_size"], cfg["bits"], cfg["asymmetric"], cfg["scale_format"] == "bf16"
    blk = r.reshape(rows, dim // g, g)
    floor = F32(1e-10)

    def store(v):
        if bf16:  # §6.4: quantize with the fp32 value, store it rounded to bf16
            return bf16_bits(bf16_round(v)), v
        s8 = fp8_encode(v)
        return s8, fp8_decode(s8)

    zeros = None
    if not asym:  # §6.2
        m = 2 ** (bits - 1) - 1
        amax = np.max(np.abs(blk), axis=-1)
        scales, s = store(np.maximum(kdiv(amax, F32(m)), floor))
        y = blk * (F32(1) / s)[..., None]
        q = np.clip(round_half_away(y), -m, m)
        codes = np.where(np.isnan(y), m, q) + m
    else:  # §6.3
        qmax = 2 ** bits - 1
        mn, mx = block_min(blk), block_max(blk)
        scales, s = store(np.maximum(kdiv(mx - mn, F32(qmax)), floor))
        zeros, z = store(mn)
        y = (blk - z[..., None]) * (F32(1) / s)[..., None]
        q = np.clip(round_half_away(y), 0, qmax)
        codes = np.where(np.isnan(y), 0, q)
    return codes.astype(np.int64).reshape(rows, dim), scales, zeros


def pack(codes, bits):
    """§6.5: each token's codes as an MSB-first bit stream."""
    rows, dim = codes.shape
    stream = (codes[..., None] >> np.arange(bits - 1, -1, -1)) & 1
    return np.packbits(stream.reshape(rows, dim * bits).astype(np.uint8), axis=-1)


def load_scale(stored, bf16):
    return from_bf16(stored) if bf16 else fp8_decode(stored)


def dequantize(codes, scales, zeros, ids, cents, cfg):
    """§7: the residual (code − m)·s or code·s + z in fp32, plus each stage's centroid in stage order, one bf16 rounding."""
    rows, dim = codes.shape
    g, bits, bf16 = cfg["group_size"], cfg["bits"], cfg["scale_format"] == "bf16"
    s = np.repeat(load_scale(scales, bf16).reshape(rows, -1), g, axis=1)
    if cfg["asymmetric"]:
        acc = codes.astype(F32) * s + np.repeat(load_scale(zeros, bf16).reshape(rows, -1), g, axis=1)
    else:
        acc = (codes - (2 ** (bits - 1) - 1)).astype(F32) * s
    for t in range(len(ids)):
        acc = acc + centroid_rows(ids[t], cents[t])
    return bf16_round(acc)


def centroid_rows(ids, cent):
    """ids [BH, S], cent [BH, Kc, D] -> each token's centroid, [BH·S, D]."""
    bh = np.arange(ids.shape[0])[:, None]
    return cent[bh, ids].reshape(-1, cent.shape[-1])


# ---- k-means, §3 ----

def splitmix64_init(seed, stages, heads, kc, tokens):
    """§3.1: stage by stage, head by head, k by k; each index next() mod S, unsigned."""
    mask = (1 << 64) - 1
    state = seed & mask
    out = np.zeros((stages, heads, kc), dtype=np.int64)
    for t in range(stages):
        for h in range(heads):
            for k in range(kc):
                state = (state + 0x9E3779B97F4A7C15) & mask
                z = state
                z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
                z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
                out[t, h, k] = (z ^ (z >> 31)) % tokens
    return out


def fma_dots(a, b):
    """Σ_d a[n,d]·b[k,d] in fp32, d in order from +0, each step an FMA: for bf16 values the double sum rounded
    once per step equals the FMA (SPEC §3.2's hint)."""
    acc = np.zeros((a.shape[0], b.shape[0]), dtype=F32)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    with np.errstate(all="ignore"):
        for d in range(a.shape[1]):
            acc = (acc.astype(np.float64) + a64[:, d, None] * b64[None, :, d]).astype(F32)
    return acc


def assign(x, c):
    """§3.2: score = ‖c‖² − 2·(x·c), unfused; the first strictly smallest score wins, NaN never."""
    norms = np.array([fma_dots(c[k:k + 1], c[k:k + 1])[0, 0] for k in range(c.shape[0])], dtype=F32)
    with np.errstate(all="ignore"):
        scores = norms[None, :] - F32(2) * fma_dots(x, c)
    best = np.full(x.shape[0], np.inf, dtype=F32)
    ids = np.zeros(x.shape[0], dtype=np.int64)
    for k in range(c.shape[0]):
        better = scores[:, k] < best
        best = np.where(better, scores[:, k], best)
        ids = np.where(better, k, ids)
    return ids


def update(x, ids, c):
    """§3.3: sums in double in ascending token order, rounded to float, IEEE division by the count, bf16."""
    sums = np.zeros(c.shape, dtype=np.float64)
    counts = np.zeros(c.shape[0], dtype=np.int64)
    for n in range(x.shape[0]):
        sums[ids[n]] += x[n]
        counts[ids[n]] += 1
    with np.errstate(all="ignore"):
        mean = bf16_round(sums.astype(F32) / np.maximum(counts, 1).astype(F32)[:, None])
    return np.where(counts[:, None] > 0, mean, c).astype(F32)


def kmeans(r, init, cfg):
    """§3.4 over all heads: r [BH, S, D]; returns ids [BH, S], tables [BH, Kc, D], the iteration count."""
    heads, tokens, _ = r.shape
    c = np.stack([r[h, init[h]] for h in range(heads)])
    per_token = F32(1) / F32(heads * tokens)
    prev = None
    for it in range(cfg["max_iters"]):
        ids = np.stack([assign(r[h], c[h]) for h in range(heads)])
        if it > 0 and F32(np.count_nonzero(ids != prev)) * per_token < F32(cfg["tol"]):
            return ids, c, it + 1
        c = np.stack([update(r[h], ids[h], c[h]) for h in range(heads)])
        prev = ids
    return ids, c, cfg["max_iters"]


# ---- the check ----

def check(directory, vector):
    """The expected arrays of the vector that this implementation gets wrong (empty when it passes)."""
    return compare(np.load(directory / vector["files"][0]), vector, outputs(directory, vector))


def outputs(directory, vector):
    """Every level this implementation computes for the vector's input and config."""
    z = np.load(directory / vector["files"][0])
    cfg = vector["config"]
    b, h, s, d = vector["shape"]
    x = from_bf16(z["x"]).reshape(b * h, s, d)
    got = {}
    r = x.copy()
    ids, cents = [], []
    if vector["kind"] == "pipeline":
        init = splitmix64_init(vector["seed"], cfg["stages"], b * h, cfg["centroids"], s)
    for t in range(cfg["stages"]):
        if vector["kind"] == "pipeline":
            got[f"init{t}"] = init[t].astype(np.int32)
            i, c, its = kmeans(r, init[t], cfg)
            got[f"iters{t}"] = np.int32(its)
        else:
            i = z[f"ids{t}"].reshape(b * h, s).astype(np.int64)
            c = from_bf16(z[f"cent{t}"]).reshape(b * h, -1, d)
        got[f"ids{t}"], got[f"cent{t}"] = i.astype(np.uint8), bf16_bits(c)
        ids.append(i)
        cents.append(c)
        with np.errstate(all="ignore"):  # §4
            r = bf16_round(r - centroid_rows(i, c).reshape(r.shape))
    with np.errstate(all="ignore"):
        codes, scales, zeros = quantize(r.reshape(-1, d), cfg)
        got["packed"] = pack(codes, cfg["bits"])
        got["scales"] = scales
        if zeros is not None:
            got["zeros"] = zeros
        got["deq"] = bf16_bits(dequantize(codes, scales, zeros, ids, cents, cfg))
    return got


def compare(z, vector, got):
    differing = []
    for name in vector["expected"]:
        expected = z[name].reshape(-1)
        mine = np.asarray(got[name]).reshape(-1).astype(expected.dtype)
        if not np.array_equal(expected.view(np.uint8), mine.view(np.uint8)):
            first = int(np.flatnonzero(expected != mine)[0]) if expected.shape == mine.shape else -1
            differing.append(f"{name} (first at flat index {first})")
    return differing


# ---- the .qkv container, FORMAT.md ----

_CRC32C = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC32C.append(_c)


def crc32c(data):
    c = 0xFFFFFFFF
    for byte in data:
        c = _CRC32C[(c ^ byte) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def write_qkv(path, vector, got):
    """A pipeline vector's outputs as a version-1 .qkv: header, then CONF SHAP ITER INIT IDS_ CENT PACK SCAL [ZERO]."""
    cfg, (b, h, s, d) = vector["config"], vector["shape"]
    le = lambda a, t: np.ascontiguousarray(np.asarray(a).astype(t)).tobytes()
    t_ = cfg["stages"]
    conf = bytes([cfg["bits"], int(cfg["asymmetric"]), int(cfg["scale_format"] == "bf16"), 3])
    conf += le([cfg["group_size"], t_, cfg["centroids"], cfg["max_iters"]], "<u4") + le([cfg["tol"]], "<f4")
    conf += le([vector["seed"]], "<i8")
    sections = [(b"CONF", conf), (b"SHAP", le([b, h, s, d], "<u4")),
                (b"ITER", le([got[f"iters{t}"] for t in range(t_)], "<u4")),
                (b"INIT", b"".join(le(got[f"init{t}"], "<u4") for t in range(t_))),
                (b"IDS_", b"".join(le(got[f"ids{t}"], "u1") for t in range(t_))),
                (b"CENT", b"".join(le(got[f"cent{t}"], "<u2") for t in range(t_))),
                (b"PACK", le(got["packed"], "u1")), (b"SCAL", le(got["scales"], "<u2" if cfg["scale_format"] == "bf16" else "u1"))]
    if cfg["asymmetric"]:
        sections.append((b"ZERO", le(got["zeros"], "<u2" if cfg["scale_format"] == "bf16" else "u1")))
    head = b"\x89QKV\r\n\x1a\n" + le([1, len(sections)], "<u2")
    out = head + le([crc32c(head)], "<u4")
    for tag, payload in sections:
        sec = tag + le([len(payload)], "<u8") + payload
        out += sec + le([crc32c(sec)], "<u4")
    Path(path).write_bytes(out)


def main(argv):
    qkv = None
    if "--qkv" in argv:
        i = argv.index("--qkv")
        qkv = Path(argv[i + 1])
        qkv.mkdir(parents=True, exist_ok=True)
        argv = argv[:i] + argv[i + 2:]
    directory = Path(argv[1] if len(argv) > 1 else "vectors")
    prefix = argv[2] if len(argv) > 2 else ""
    vectors = [json.loads(line) for line in (directory / "index.jsonl").read_text().splitlines() if line.strip()]
    vectors = [v for v in vectors if v["id"].startswith(prefix)]
    failed = 0
    for v in vectors:
        got = outputs(directory, v)
        differing = compare(np.load(directory / v["files"][0]), v, got)
        if qkv is not None and v["kind"] == "pipeline":
            write_qkv(qkv / (v["id"] + ".qkv"), v, got)
        failed += bool(differing)
        if differing:
            print(f"FAIL {v['id']} ({v['section']}): {', '.join(differing)}")
    print(f"{'PASS' if failed == 0 else 'FAIL'}: {len(vectors) - failed}/{len(vectors)} vectors")
    return 0 if failed == 0 and vectors else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
