"""Property tests: gc never removes anything reachable, whatever the history of the store."""

from __future__ import annotations

import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import make_writable
from ilabfs import gc
from ilabfs.deletion import execute_delete
from ilabfs.errors import DependencyError, NotFoundError
from ilabfs.index import Entry, Index
from ilabfs.models import add_model
from ilabfs.store import Store
from storecheck import check_store

HEX = st.text("0123456789abcdef", min_size=64, max_size=64)


@given(
    artifacts=st.dictionaries(HEX, st.dictionaries(HEX, st.integers(0, 100), max_size=5), max_size=6),
    pins=st.sets(HEX, max_size=4),
    extra=st.dictionaries(HEX, st.integers(0, 100), max_size=6),
)
def test_sweep_never_returns_marked(artifacts, pins, extra):
    index = Index({digest: Entry(digest, "model", "t", [], 0, blobs) for digest, blobs in artifacts.items()})
    present = dict(extra)
    for digest, blobs in artifacts.items():
        present[digest] = 1
        present.update(blobs)

    marked = gc.mark(index.referenced_blobs(), pins)
    swept = {digest for digest, _ in gc.sweep(present, marked)}

    assert swept.isdisjoint(marked)
    assert swept | (set(present) & marked) == set(present)
    for entry in index.entries.values():
        assert entry.digest not in swept
        assert swept.isdisjoint(entry.blobs)


POOL = [bytes([n]) * (n * 512 + 1) for n in range(8)]

operation = st.one_of(
    st.tuples(st.just("add"), st.integers(0, 4), st.sets(st.integers(0, 7), min_size=1, max_size=4)),
    st.tuples(st.just("delete"), st.integers(0, 4)),
    st.tuples(st.just("gc")),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(operation, min_size=1, max_size=12))
def test_random_histories_keep_reachable(tmp_path_factory, steps):
    root: Path = tmp_path_factory.mktemp("history")
    store = Store(root / "store")
    names: dict[str, set[int]] = {}
    try:
        for number, step in enumerate(steps):
            if step[0] == "add":
                _, slot, parts = step
                folder = root / f"src-{number}"
                folder.mkdir()
                for part in parts:
                    (folder / f"f{part}.bin").write_bytes(POOL[part])
                add_model(store, folder, f"m{slot}", force=True)
                names[f"m{slot}"] = parts
            elif step[0] == "delete":
                try:
                    execute_delete(store, "model", [f"m{step[1]}"])
                    names.pop(f"m{step[1]}", None)
                except (NotFoundError, DependencyError):
                    pass
            else:
                gc.collect(store.layout)

            assert check_store(store.root) == []
            index = store.index()
            for name, parts in names.items():
                entry = store.resolve("model", name, index)
                layers = store.read_manifest(entry.digest).layers
                assert sorted(layer.title for layer in layers) == sorted(f"f{part}.bin" for part in parts)
    finally:
        make_writable(root)
        shutil.rmtree(root, ignore_errors=True)
