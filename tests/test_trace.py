"""The trace file (docs/trace.md): round trip, atomic writes, clear errors; snapshot step choice."""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geomdl.errors import GeomdlError
from geomdl.io import trace as trace_mod
from geomdl.io.atomic import atomic_path, ensure_writable_dir
from geomdl.io.trace import REQUIRED, SCHEMA, Trace, config_hash, load
from geomdl.nn.snapshots import snapshot_steps


def tiny_png() -> bytes:
    """A real 1x1 RGB PNG, built by hand."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + payload))
        return struct.pack(">I", len(payload)) + kind + payload + crc
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def raw_npz(path: Path, meta: dict | str | None, arrays: dict) -> Path:
    """Write an .npz by hand (bypassing Trace.save and its validation)."""
    extra = {} if meta is None else {"meta": np.array(meta if isinstance(meta, str) else json.dumps(meta))}
    with open(path, "wb") as fh:
        np.savez(fh, **extra, **arrays)
    return path


@pytest.fixture
def tr(small_run):
    return small_run[0]


# ---------------------------------------------------------------- round trip
def test_round_trip(tr, tmp_path):
    path = tr.save(tmp_path / "run")
    assert path == tmp_path / "run.npz" and path.is_file()
    back = load(path)
    assert back.meta == tr.meta
    assert back.arrays.keys() == tr.arrays.keys()
    for k, v in tr.arrays.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape, k
        assert np.array_equal(back[k], v, equal_nan=v.dtype.kind == "f"), k
    assert back.n_snapshots == tr.n_snapshots == 4 and back.n_layers == 3 and back.q == 3
    assert not back.failed and "X" in back and "nope" not in back


def test_plain_numpy_can_read_it(tr, tmp_path):
    path = tr.save(tmp_path / "run.npz")
    with np.load(path, allow_pickle=False) as z:
        assert set(REQUIRED) <= set(z.files) and "meta" in z.files
        meta = z["meta"]
        assert meta.shape == () and meta.dtype.kind == "U"
        assert json.loads(str(meta[()])) == tr.meta
        np.testing.assert_array_equal(z["k_trunc"], tr["k_trunc"])


def test_meta_has_the_documented_keys(tr):
    for k in trace_mod.META_KEYS:
        assert k in tr.meta, k
    assert tr.meta["schema"] == SCHEMA and tr.meta["kind"] == "truncation-speed"
    assert set(tr.meta["versions"]) == {"python", "numpy", "torch", "geomdl"}


def test_atomic_write_leaves_no_temp_files(tr, tmp_path):
    tr.save(tmp_path / "run.npz")
    tr.save(tmp_path / "run.npz")                              # overwrite in place
    assert sorted(os.listdir(tmp_path)) == ["run.npz"]
    load(tmp_path / "run.npz")


def test_failed_write_keeps_the_old_file(tr, tmp_path, monkeypatch):
    path = tr.save(tmp_path / "run.npz")
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(trace_mod.np, "savez_compressed", boom)
    with pytest.raises(GeomdlError, match="cannot write .*run.npz: disk full"):   # one line, the old file kept
        tr.save(path)
    assert sorted(os.listdir(tmp_path)) == ["run.npz"] and path.read_bytes() == before


def test_atomic_path_cleans_up(tmp_path):
    dest = tmp_path / "sub" / "out.txt"
    with atomic_path(dest) as tmp:
        assert tmp.parent == dest.parent and tmp.suffix == ".txt" and tmp != dest
        tmp.write_text("hello")
    assert dest.read_text() == "hello" and os.listdir(dest.parent) == ["out.txt"]
    with pytest.raises(KeyboardInterrupt), atomic_path(dest) as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert dest.read_text() == "hello" and os.listdir(dest.parent) == ["out.txt"]


def test_ensure_writable_dir_refuses_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(GeomdlError):
        ensure_writable_dir(f)
    with pytest.raises(GeomdlError):
        ensure_writable_dir(f / "below")


def test_save_refuses_an_invalid_trace(tr, tmp_path):
    bad = Trace(meta=dict(tr.meta), arrays={k: v for k, v in tr.arrays.items() if k != "edges"})
    with pytest.raises(GeomdlError, match="edges"):
        bad.save(tmp_path / "bad.npz")
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------- clear errors on load
def test_missing_file(tmp_path):
    with pytest.raises(GeomdlError, match="does not exist"):
        load(tmp_path / "nothing.npz")


def test_folder(tmp_path):
    with pytest.raises(GeomdlError, match="folder"):
        load(tmp_path)


def test_png(tmp_path):
    p = tmp_path / "picture.png"
    p.write_bytes(tiny_png())
    with pytest.raises(GeomdlError, match="not a geomdl trace"):
        load(p)
    p2 = tmp_path / "picture.npz"                               # a misleading name changes nothing
    p2.write_bytes(tiny_png())
    with pytest.raises(GeomdlError, match="not a geomdl trace"):
        load(p2)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.npz"
    p.write_bytes(b"")
    with pytest.raises(GeomdlError, match="not a geomdl trace"):
        load(p)


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.1])
def test_truncated_file(tr, tmp_path, keep):
    path = tr.save(tmp_path / "run.npz")
    blob = path.read_bytes()
    path.write_bytes(blob[: int(len(blob) * keep)])
    with pytest.raises(GeomdlError, match="truncated or corrupt"):
        load(path)


def test_corrupted_bytes(tr, tmp_path):
    path = tr.save(tmp_path / "run.npz")
    blob = bytearray(path.read_bytes())
    mid = len(blob) // 3
    blob[mid: mid + 200] = bytes(200)
    path.write_bytes(bytes(blob))
    with pytest.raises(GeomdlError, match="truncated or corrupt"):
        load(path)


def test_foreign_npz_without_meta(tmp_path):
    p = raw_npz(tmp_path / "other.npz", None, {"a": np.arange(3)})
    with pytest.raises(GeomdlError, match="no 'meta'"):
        load(p)


def test_other_schema(tr, tmp_path):
    meta = dict(tr.meta, schema=SCHEMA + 1)
    p = raw_npz(tmp_path / "future.npz", meta, tr.arrays)
    with pytest.raises(GeomdlError, match=f"schema {SCHEMA + 1}"):
        load(p)


@pytest.mark.parametrize("drop", ["truncated", "k_trunc", "pca_components"])
def test_missing_arrays(tr, tmp_path, drop):
    p = raw_npz(tmp_path / "partial.npz", tr.meta, {k: v for k, v in tr.arrays.items() if k != drop})
    with pytest.raises(GeomdlError, match=f"missing arrays.*{drop}"):
        load(p)


def test_wrong_dimensions_and_shapes(tr, tmp_path):
    arrays = dict(tr.arrays, residual=tr["residual"][0])
    with pytest.raises(GeomdlError, match="'residual' has 1 dimensions"):
        load(raw_npz(tmp_path / "a.npz", tr.meta, arrays))
    arrays = dict(tr.arrays, labels=tr["labels"][:-1])
    with pytest.raises(GeomdlError, match="'labels' has shape"):
        load(raw_npz(tmp_path / "b.npz", tr.meta, arrays))
    arrays = dict(tr.arrays, steps=tr["steps"][:-1])
    with pytest.raises(GeomdlError, match="'steps' has shape"):
        load(raw_npz(tmp_path / "c.npz", tr.meta, arrays))


@pytest.mark.parametrize("meta", ["[1, 2]", '"text"', '{"kind": "x"}', "not json {"])
def test_bad_meta(tr, tmp_path, meta):
    with pytest.raises(GeomdlError):
        load(raw_npz(tmp_path / "m.npz", meta, tr.arrays))


def test_meta_lacking_required_keys(tr, tmp_path):
    meta = {k: v for k, v in tr.meta.items() if k != "Q"}
    with pytest.raises(GeomdlError, match="'Q'"):
        load(raw_npz(tmp_path / "q.npz", meta, tr.arrays))


def test_pickled_object_array(tr, tmp_path):
    p = tmp_path / "pickle.npz"
    arrays = dict(tr.arrays, notes=np.array([{"a": 1}], dtype=object))
    with open(p, "wb") as fh:
        np.savez(fh, meta=np.array(json.dumps(tr.meta)), **arrays)
    with pytest.raises(GeomdlError, match="pickled Python objects, which geomdl never loads"):
        load(p)


def test_config_hash():
    h = config_hash("truncation-speed", {"lr": 0.01, "q": 3})
    assert len(h) == 12 and int(h, 16) >= 0
    assert h == config_hash("truncation-speed", {"q": 3, "lr": 0.01})       # key order does not matter
    assert h != config_hash("truncation-speed", {"lr": 0.02, "q": 3})
    assert h != config_hash("other", {"lr": 0.01, "q": 3})


# ---------------------------------------------------------------- snapshot steps
@settings(deadline=None, max_examples=80)
@given(steps=st.integers(1, 100_000), count=st.integers(2, 300), spacing=st.sampled_from(["linear", "log"]))
def test_snapshot_steps_properties(steps, count, spacing):
    s = snapshot_steps(steps, count, spacing)
    assert s.dtype == np.int64 and s[0] == 0 and s[-1] == steps
    assert (np.diff(s) > 0).all()
    assert len(s) <= min(steps + 1, 2 * count + 1)
    if spacing == "linear":
        d = np.diff(s)
        assert (d[:-1] == d[0]).all() and d[-1] <= d[0]          # even spacing, a shorter last gap at most
        if steps % (count - 1) == 0 and count - 1 <= steps:
            assert len(s) == count
    else:
        assert len(s) <= count + 1
        if steps >= 100 * count:
            assert np.sum(s < steps / 2) > np.sum(s >= steps / 2)  # dense early, sparse late


def test_snapshot_steps_examples():
    assert snapshot_steps(100, 11).tolist() == list(range(0, 101, 10))
    assert snapshot_steps(10, 4).tolist() == [0, 3, 6, 9, 10]
    assert snapshot_steps(5, 50).tolist() == [0, 1, 2, 3, 4, 5]
    assert snapshot_steps(1000, 4, "log").tolist() == [0, 1, 32, 1000]
    assert snapshot_steps(1, 2, "log").tolist() == [0, 1]


@pytest.mark.parametrize(("args", "message"), [
    ((100, 1), "at least 2 snapshots"),
    ((100, 0), "at least 2 snapshots"),
    ((0, 10), "steps must be >= 1"),
    ((-5, 10), "steps must be >= 1"),
    ((100, 10, "cubic"), "unknown snapshot spacing 'cubic'"),
])
def test_snapshot_steps_bad_args(args, message):
    with pytest.raises(GeomdlError, match=message):
        snapshot_steps(*args)
