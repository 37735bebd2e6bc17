"""mx.save / savez / savez_compressed / save_safetensors / save_gguf and mx.load.

References: numpy's own np.save / np.load / np.savez for .npy and .npz; the `safetensors` and
`gguf` packages when installed (readers and writers written independently of ember); for
the rest, the published layouts, decoded here with struct / json. Hostile files (truncated,
corrupt, huge declared sizes) must be a ValueError, never a crash (they run in a child
process) and never an allocation of the declared size.
"""
import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import ember.core as mx

DTYPES = ["bool_", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
          "float16", "bfloat16", "float32", "float64", "complex64"]
SHAPES = [(), (0,), (3,), (2, 3), (2, 0, 4), (1, 2, 3, 2)]


def sample(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(shape) * 50
    t = getattr(mx, dtype)
    if dtype == "bool_":
        return mx.array(v > 0)
    if dtype.startswith("uint"):
        v = np.abs(v)
    if dtype == "complex64":
        return mx.array((v + 1j * v[::-1] if v.ndim else v + 2j).astype(np.complex64))
    return mx.array(v, dtype=mx.float64).astype(t)


def same(a, b):
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert mx.array_equal(a, b, equal_nan=True).item()


# ---- round trips ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_npy_round_trip(tmp_path, dtype):
    for shape in SHAPES:
        a = sample(dtype, shape)
        p = tmp_path / "a.npy"
        mx.save(str(p), a)
        same(mx.load(str(p)), a)


@pytest.mark.parametrize("dtype", [d for d in DTYPES if d != "bfloat16"])
def test_npy_matches_numpy_both_ways(tmp_path, dtype):
    a = sample(dtype, (3, 4))
    mx.save(tmp_path / "e.npy", a)  # a pathlib.Path works too
    n = np.load(tmp_path / "e.npy")
    np.testing.assert_array_equal(n, np.asarray(a))
    assert n.dtype == np.asarray(a).dtype
    np.save(tmp_path / "n.npy", np.asarray(a))
    same(mx.load(str(tmp_path / "n.npy")), a)


def test_npy_fortran_order_and_big_endian_from_numpy(tmp_path):
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.save(tmp_path / "f.npy", np.asfortranarray(x))
    np.testing.assert_array_equal(np.asarray(mx.load(str(tmp_path / "f.npy"))), x)
    for dt in (">f4", ">i8", ">u2", ">c8", ">f8"):
        y = (x + 1j * x if dt == ">c8" else x).astype(dt)
        np.save(tmp_path / "b.npy", y)
        got = mx.load(str(tmp_path / "b.npy"))
        np.testing.assert_array_equal(np.asarray(got), y.astype(y.dtype.newbyteorder("=")))


def test_non_contiguous_and_lazy_arrays_save_their_values(tmp_path):
    base = mx.arange(24).reshape(4, 6)
    views = {"T": base.T, "step": base[::2, ::-3], "bcast": mx.broadcast_to(mx.array([1, 2]), (3, 2)),
             "lazy": mx.exp(base.astype(mx.float32) / 10)}
    for name, v in views.items():
        mx.save(str(tmp_path / f"{name}.npy"), v)
        np.testing.assert_array_equal(np.load(tmp_path / f"{name}.npy"), np.asarray(v))
    mx.savez(str(tmp_path / "v.npz"), **views)
    got = mx.load(str(tmp_path / "v.npz"))
    for name, v in views.items():
        same(got[name], v)


@pytest.mark.parametrize("compressed", [False, True])
def test_npz_round_trip_and_numpy(tmp_path, compressed):
    save = mx.savez_compressed if compressed else mx.savez
    arrays = {d: sample(d, (2, 3), i) for i, d in enumerate(DTYPES)}
    pos = sample("float32", (5,), 9)
    save(str(tmp_path / "a"), pos, **arrays)  # extension added
    got = mx.load(str(tmp_path / "a.npz"))
    assert list(got) == ["arr_0"] + DTYPES
    same(got["arr_0"], pos)
    for d, a in arrays.items():
        same(got[d], a)
    with np.load(tmp_path / "a.npz") as z:  # numpy reads ours
        for d, a in arrays.items():
            if d != "bfloat16":
                np.testing.assert_array_equal(z[d], np.asarray(a))
    with zipfile.ZipFile(tmp_path / "a.npz") as z:
        assert z.testzip() is None  # CRCs are right
        method = {i.compress_type for i in z.infolist()}
        assert method == ({zipfile.ZIP_DEFLATED} if compressed else {zipfile.ZIP_STORED})
    # ours reads numpy's
    (np.savez_compressed if compressed else np.savez)(tmp_path / "n.npz", x=np.arange(7),
                                                      y=np.eye(3, dtype=np.float32))
    got = mx.load(str(tmp_path / "n.npz"))
    np.testing.assert_array_equal(np.asarray(got["x"]), np.arange(7))
    np.testing.assert_array_equal(np.asarray(got["y"]), np.eye(3))


def test_npz_names_and_errors(tmp_path):
    with pytest.raises(ValueError, match=r"\[savez\].*arr_0"):
        mx.savez(str(tmp_path / "d.npz"), mx.zeros(2), arr_0=mx.ones(2))
    mx.savez(str(tmp_path / "e.npz"))
    assert mx.load(str(tmp_path / "e.npz")) == {}


def test_safetensors_round_trip_and_layout(tmp_path):
    arrays = {d: sample(d, (2, 3), i) for i, d in enumerate(DTYPES)}
    arrays["scalar"] = mx.array(3.5)
    arrays["empty"] = mx.zeros((0, 3))
    meta = {"format": "mlx", "note": 'quotes " and \\ and \n newline, ünïcode'}
    mx.save_safetensors(str(tmp_path / "w"), arrays, metadata=meta)
    got, got_meta = mx.load(str(tmp_path / "w.safetensors"), return_metadata=True)
    assert got_meta == meta
    assert set(got) == set(arrays)
    for k, a in arrays.items():
        same(got[k], a)
    # the layout, decoded by hand from the specification
    raw = (tmp_path / "w.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    assert header["__metadata__"] == meta
    codes = {"float32": "F32", "bfloat16": "BF16", "uint64": "U64", "bool_": "BOOL"}
    for k, code in codes.items():
        h = header[k]
        assert h["dtype"] == code and h["shape"] == [2, 3]
        b, e = h["data_offsets"]
        if k != "bfloat16":
            buf = np.frombuffer(raw[8 + n + b:8 + n + e], dtype=np.asarray(arrays[k]).dtype)
            np.testing.assert_array_equal(buf.reshape(2, 3), np.asarray(arrays[k]))
    assert (8 + n) % 8 == 0


def test_safetensors_against_the_reference_package(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    x = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, -2], dtype=np.int64)}
    st.save_file(x, str(tmp_path / "ref.safetensors"), metadata={"k": "v"})
    got, meta = mx.load(str(tmp_path / "ref.safetensors"), return_metadata=True)
    assert meta == {"k": "v"}
    for k in x:
        np.testing.assert_array_equal(np.asarray(got[k]), x[k])
    mx.save_safetensors(str(tmp_path / "ours.safetensors"), {k: mx.array(v) for k, v in x.items()})
    back = st.load_file(str(tmp_path / "ours.safetensors"))
    for k in x:
        np.testing.assert_array_equal(back[k], x[k])


GGUF_DTYPES = ["float32", "float16", "bfloat16", "float64", "int8", "int16", "int32", "int64"]


def test_gguf_round_trip_with_metadata(tmp_path):
    arrays = {d: sample(d, (2, 3, 4), i) for i, d in enumerate(GGUF_DTYPES)}
    arrays["vec"] = mx.arange(5, dtype=mx.float32)
    meta = {"general.name": "tiny", "tokens": ["a", "bc", ""], "n": mx.array(7, dtype=mx.uint32),
            "v": mx.array([1.5, 2.5]), "flag": mx.array(True)}
    mx.save_gguf(str(tmp_path / "m"), arrays, meta)
    got, got_meta = mx.load(str(tmp_path / "m.gguf"), return_metadata=True)
    assert set(got) == set(arrays)
    for k, a in arrays.items():
        same(got[k], a)
    assert got_meta["general.name"] == "tiny" and got_meta["tokens"] == ["a", "bc", ""]
    assert got_meta["n"].item() == 7 and got_meta["n"].dtype == mx.uint32
    assert got_meta["v"].tolist() == [1.5, 2.5] and got_meta["flag"].item() is True
    with pytest.raises(TypeError, match=r"\[save_gguf\].*uint8"):
        mx.save_gguf(str(tmp_path / "bad.gguf"), {"x": mx.zeros(2, dtype=mx.uint8)})


def test_gguf_against_the_reference_package(tmp_path):
    gguf = pytest.importorskip("gguf")
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    mx.save_gguf(str(tmp_path / "o.gguf"), {"w": mx.array(x)}, {"general.name": "o"})
    r = gguf.GGUFReader(str(tmp_path / "o.gguf"))
    (t,) = [t for t in r.tensors if t.name == "w"]
    np.testing.assert_array_equal(np.asarray(t.data).reshape(3, 4), x)
    w = gguf.GGUFWriter(str(tmp_path / "r.gguf"), "llama")
    w.add_tensor("t", np.arange(6, dtype=np.float16).reshape(2, 3))
    w.add_uint32("answer", 42)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    got, meta = mx.load(str(tmp_path / "r.gguf"), return_metadata=True)
    np.testing.assert_array_equal(np.asarray(got["t"]), np.arange(6, dtype=np.float16).reshape(2, 3))
    assert meta["answer"].item() == 42


def test_file_objects(tmp_path):
    a = sample("float32", (3, 2))
    buf = io.BytesIO()
    mx.save(buf, a)
    buf.seek(0)
    same(mx.load(buf, format="npy"), a)
    buf = io.BytesIO()
    mx.savez(buf, a=a)
    buf.seek(0)
    same(mx.load(buf, format="npz")["a"], a)
    with open(tmp_path / "f.safetensors", "wb") as f:
        mx.save_safetensors(f, {"a": a})
    with open(tmp_path / "f.safetensors", "rb") as f:
        same(mx.load(f)["a"], a)  # format from the file's name


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npy"):
        mx.load(str(tmp_path / "nope.npy"))
    (tmp_path / "x.bin").write_bytes(b"1234")
    with pytest.raises(ValueError, match=r"\[load\].*bin"):
        mx.load(str(tmp_path / "x.bin"))
    with pytest.raises(ValueError, match=r"\[load\]"):
        mx.load(str(tmp_path / "noext"))
    mx.save(str(tmp_path / "a.npy"), mx.zeros(2))
    with pytest.raises(ValueError, match="return_metadata"):
        mx.load(str(tmp_path / "a.npy"), return_metadata=True)
    with pytest.raises(TypeError):
        mx.save(3, mx.zeros(2))
    with pytest.raises(TypeError):
        mx.save_safetensors(str(tmp_path / "m.safetensors"), {"a": mx.zeros(2)}, {"k": 3})


# ---- atomic writes ------------------------------------------------------------------------
def test_failed_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    p = tmp_path / "w.gguf"
    mx.save_gguf(str(p), {"a": mx.ones(3)})
    before = p.read_bytes()
    with pytest.raises(TypeError):
        mx.save_gguf(str(p), {"a": mx.zeros(3), "b": mx.zeros(2, dtype=mx.uint16)})
    assert p.read_bytes() == before
    assert os.listdir(tmp_path) == ["w.gguf"]


def test_failure_while_computing_keeps_the_old_file(tmp_path):
    # The array to save fails to allocate under an address-space limit: MemoryError, the old
    # file intact, no temporary left.
    p = tmp_path / "a.npy"
    mx.save(str(p), mx.arange(4))
    code = f"""
    import resource, os
    resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
    try:
        mx.save({str(p)!r}, mx.exp(mx.ones((2**29,), dtype=mx.float64)))  # 4 GiB
        print("SAVED")
    except MemoryError as e:
        print("MemoryError", e)
    print(sorted(os.listdir({str(tmp_path)!r})))
    """
    out = run_child(code)
    if "SAVED" in out:
        pytest.skip("address-space limit did not make the allocation fail")
    assert "MemoryError" in out and "['a.npy']" in out, out
    np.testing.assert_array_equal(np.load(p), np.arange(4))


# ---- hostile and corrupt files ------------------------------------------------------------
def run_child(code):
    src = "import ember.core as mx\nimport numpy as np\n" + textwrap.dedent(code)
    # through stdin: the case lists are too long for a command line
    p = subprocess.run([sys.executable, "-"], input=src, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, f"child crashed (rc={p.returncode}): {p.stdout[-1500:]} {p.stderr[-1500:]}"
    return p.stdout


def load_all_in_child(files):
    """Loads each (path, format) in a child process; returns {path: exception name or 'ok'}."""
    code = f"""
    import json
    out = {{}}
    for path, fmt in {files!r}:
        try:
            mx.load(path, format=fmt)
            out[path] = "ok"
        except Exception as e:
            out[path] = type(e).__name__ + ": " + str(e)
    print(json.dumps(out))
    """
    return json.loads(run_child(code).strip().splitlines()[-1])


def valid_files(tmp_path):
    a = {"w": sample("float32", (3, 4)), "b": sample("int16", (5,))}
    paths = {}
    mx.save(str(tmp_path / "v.npy"), a["w"])
    mx.savez(str(tmp_path / "v.npz"), **a)
    mx.savez_compressed(str(tmp_path / "c.npz"), **a)
    mx.save_safetensors(str(tmp_path / "v.safetensors"), a, {"k": "v"})
    mx.save_gguf(str(tmp_path / "v.gguf"), {"w": a["w"]}, {"s": ["x", "y"]})
    for name, fmt in [("v.npy", "npy"), ("v.npz", "npz"), ("c.npz", "npz"),
                      ("v.safetensors", "safetensors"), ("v.gguf", "gguf")]:
        paths[name] = (tmp_path / name, fmt)
    return paths


def test_every_truncation_and_byte_flip_is_an_error_or_a_value(tmp_path):
    """Each valid file cut at many lengths and with bytes flipped: a load either succeeds
    (a flip inside the data) or raises ValueError; never a crash, never another type."""
    cases = []
    rng = np.random.default_rng(0)
    for name, (path, fmt) in valid_files(tmp_path).items():
        raw = path.read_bytes()
        cuts = sorted(set(range(0, min(len(raw), 200))) | set(rng.integers(0, len(raw), 40).tolist()))
        for n in cuts:
            p = tmp_path / f"cut{n}-{name}"
            p.write_bytes(raw[:n])
            # GGUF pads the data section to 32 bytes; cutting only that padding is harmless
            pad_only = fmt == "gguf" and len(raw) - n < 32 and not raw[n:].strip(b"\0")
            cases.append((str(p), fmt, "flip" if pad_only else "cut"))
        for k in range(60):
            b = bytearray(raw)
            i = int(rng.integers(0, min(len(raw), 400)))
            b[i] = (b[i] + 1 + int(rng.integers(0, 255))) % 256
            p = tmp_path / f"flip{k}-{name}"
            p.write_bytes(bytes(b))
            cases.append((str(p), fmt, "flip"))
    res = load_all_in_child([(p, f) for p, f, _ in cases])
    for p, fmt, kind in cases:
        r = res[p]
        if kind == "cut":
            assert r.startswith("ValueError"), (p, r)
        else:
            assert r == "ok" or r.startswith("ValueError"), (p, r)
        assert "std::" not in r


def npy_with_header(header, data=b""):
    h = header.encode()
    h += b" " * ((64 - (10 + len(h) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + data


def safetensors_with(header, data=b""):
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def gguf_bytes(n_tensors=0, n_kv=0, body=b""):
    return b"GGUF" + struct.pack("<IQQ", 3, n_tensors, n_kv) + body


def gguf_str(s):
    return struct.pack("<Q", len(s)) + s


HOSTILE = {
    "npy_huge_shape.npy": npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }"),
    "npy_overflow_shape.npy": npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"),
    "npy_negative.npy": npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"),
    "npy_bad_dtype.npy": npy_with_header("{'descr': '<f3', 'fortran_order': False, 'shape': (1,), }", b"\0" * 8),
    "npy_object.npy": npy_with_header("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", b"\0" * 8),
    "npy_struct.npy": npy_with_header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }"),
    "npy_header_len.npy": b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**31) + b"{}",
    "npy_version.npy": b"\x93NUMPY\x09\x00" + b"\0" * 40,
    "st_huge_header.safetensors": struct.pack("<Q", 2**63) + b"{}",
    "st_negative_offset.safetensors": safetensors_with({"a": {"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]}}, b"\0" * 8),
    "st_past_end.safetensors": safetensors_with({"a": {"dtype": "F32", "shape": [2**40], "data_offsets": [0, 2**42]}}, b"\0" * 8),
    "st_mismatch.safetensors": safetensors_with({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8),
    "st_bad_dtype.safetensors": safetensors_with({"a": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}}, b"\0" * 2),
    "st_overlap.safetensors": safetensors_with({f"a{i}": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8]} for i in range(3)}, b"\0" * 8),
    "st_deep.safetensors": struct.pack("<Q", 20000) + b"[" * 20000,
    "st_not_json.safetensors": struct.pack("<Q", 4) + b"\xff\xfe{}",
    "st_shape_float.safetensors": safetensors_with({"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}, b"\0" * 4),
    "gguf_counts.gguf": gguf_bytes(2**62, 2**62),
    "gguf_str_len.gguf": gguf_bytes(0, 1, struct.pack("<Q", 2**60) + b"key"),
    "gguf_quantized.gguf": gguf_bytes(1, 0, gguf_str(b"q") + struct.pack("<I", 1) + struct.pack("<Q", 32) + struct.pack("<I", 2) + struct.pack("<Q", 0)) + b"\0" * 64,
    "gguf_huge_dims.gguf": gguf_bytes(1, 0, gguf_str(b"t") + struct.pack("<I", 2) + struct.pack("<QQ", 2**40, 2**40) + struct.pack("<I", 0) + struct.pack("<Q", 0)) + b"\0" * 64,
    "gguf_offset.gguf": gguf_bytes(1, 0, gguf_str(b"t") + struct.pack("<I", 1) + struct.pack("<Q", 4) + struct.pack("<I", 0) + struct.pack("<Q", 2**63)) + b"\0" * 64,
    "gguf_array_count.gguf": gguf_bytes(0, 1, gguf_str(b"a") + struct.pack("<IIQ", 9, 6, 2**61)),
    "gguf_align.gguf": gguf_bytes(0, 1, gguf_str(b"general.alignment") + struct.pack("<II", 4, 3)),
}


def hostile_zip(tmp_path):
    """A zip whose entry claims 2**40 uncompressed bytes, one with a bad CRC, one with an
    unknown method."""
    out = {}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.npy", npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", b"\0" * 8))
    raw = bytearray(buf.getvalue())
    cd = raw.rfind(b"PK\x01\x02")
    bomb = bytearray(raw)
    struct.pack_into("<I", bomb, cd + 24, 0xFFFFFFFE)  # uncompressed size in the directory
    out["zip_bomb_claim.npz"] = bytes(bomb)
    crc = bytearray(raw)
    struct.pack_into("<I", crc, cd + 16, 12345)
    out["zip_crc.npz"] = bytes(crc)
    meth = bytearray(raw)
    struct.pack_into("<H", meth, cd + 10, 14)  # LZMA
    out["zip_method.npz"] = bytes(meth)
    count = bytearray(raw)
    eocd = raw.rfind(b"PK\x05\x06")
    struct.pack_into("<H", count, eocd + 10, 0xFFFF)
    out["zip_count.npz"] = bytes(count)
    return out


def test_hostile_files_are_value_errors_without_big_allocations(tmp_path):
    files = dict(HOSTILE)
    files.update(hostile_zip(tmp_path))
    cases = []
    for name, raw in files.items():
        p = tmp_path / name
        p.write_bytes(raw)
        cases.append((str(p), name.rsplit(".", 1)[1]))
    # In a child under a 2 GiB address-space cap: allocating any declared size would fail loudly.
    code = f"""
    import json, resource
    resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))
    out = {{}}
    for path, fmt in {cases!r}:
        try:
            mx.load(path, format=fmt)
            out[path] = "ok"
        except Exception as e:
            out[path] = type(e).__name__ + ": " + str(e)
    out["peak"] = mx.get_peak_memory()
    print(json.dumps(out))
    """
    res = json.loads(run_child(code).strip().splitlines()[-1])
    for p, _ in cases:
        assert res[p].startswith("ValueError: [load]"), (p, res[p])
        assert "std::" not in res[p]
    assert res["peak"] < 2**20, res["peak"]  # nothing like a declared size was allocated
