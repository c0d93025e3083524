"""Several processes sharing one store: gc never takes what an add is using."""

from __future__ import annotations

import multiprocessing
import os
import random
import time
from pathlib import Path

from conftest import STRESS
from storecheck import check_store, named_artifacts


def _write_pool(folder: Path, count: int, seed: int) -> list[Path]:
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    files = []
    for number in range(count):
        path = folder / f"part-{number:03d}.bin"
        path.write_bytes(rng.randbytes(rng.randint(1, 64) * 1024))
        files.append(path)
    return files


def _adder(store: str, pool: list[str], work: str, seed: int, rounds: int, deadline: float, results) -> None:
    """Add models built from random subsets of a shared pool, and delete some of them again."""
    from ilabfs.deletion import execute_delete
    from ilabfs.errors import DependencyError, NotFoundError
    from ilabfs.models import add_model
    from ilabfs.store import Store

    rng = random.Random(seed)
    kept: dict[str, str] = {}
    for number in range(rounds):
        if time.monotonic() > deadline:
            break
        folder = Path(work) / f"m{seed}-{number}"
        folder.mkdir(parents=True)
        for source in rng.sample(pool, rng.randint(1, 6)):
            os.link(source, folder / os.path.basename(source))
        (folder / "unique.txt").write_text(f"{seed}-{number}-{rng.random()}")
        name = f"w{seed}/m{number}"
        result = add_model(Store(store), folder, name, mode=rng.choice(["copy", "link"]))
        kept[name] = result.digest
        if kept and rng.random() < 0.4:
            victim = rng.choice(sorted(kept))
            try:
                execute_delete(Store(store), "model", [victim])
                del kept[victim]
            except (DependencyError, NotFoundError):
                pass
    results.put(kept)


def _collector(store: str, stop, counter) -> None:
    from ilabfs import gc
    from ilabfs.store import Store

    layout = Store(store).layout
    while not stop.is_set():
        gc.collect(layout)
        with counter.get_lock():
            counter.value += 1


def _run(tmp_path: Path, adders: int, rounds: int, seconds: float, monkeypatch) -> None:
    store = tmp_path / "store"
    pool = [str(p) for p in _write_pool(tmp_path / "pool", 24, seed=7)]
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    stop = context.Event()
    counter = context.Value("i", 0)
    # The spawned workers inherit it; monkeypatch restores it for later tests.
    monkeypatch.setenv("ILABFS_STAGING_GRACE", "0")
    deadline = time.monotonic() + seconds

    from ilabfs.store import Store

    Store(store)  # create it once so the workers do not race on the marker
    collector = context.Process(target=_collector, args=(str(store), stop, counter))
    collector.start()
    workers = [
        context.Process(target=_adder, args=(str(store), pool, str(tmp_path / "work"), seed, rounds, deadline, results))
        for seed in range(adders)
    ]
    kept = {}
    try:
        for worker in workers:
            worker.start()
        for _ in workers:
            kept.update(results.get(timeout=seconds + 300))
        for worker in workers:
            worker.join(timeout=60)
            assert worker.exitcode == 0
        stop.set()
        collector.join(timeout=60)
        assert collector.exitcode == 0
    finally:
        stop.set()
        for process in [*workers, collector]:
            if process.is_alive():
                process.terminate()
    assert counter.value > 0

    problems = check_store(store)
    assert problems == []
    from ilabfs.fsck import check

    report = check(Store(store).layout)
    assert report.errors == []
    names = {name.rsplit(":", 1)[0] for names in named_artifacts(store).values() for name in names}
    assert names == set(kept)
    for digest in kept.values():
        assert digest in named_artifacts(store)


def test_gc_loop_during_adds(tmp_path, monkeypatch):
    """One process adds and deletes models built from shared files while another runs gc
    in a tight loop; at the end every named model is complete and every blob hashes to its name."""
    _run(tmp_path, adders=1, rounds=200 if STRESS else 40, seconds=120 if STRESS else 40, monkeypatch=monkeypatch)


def test_four_processes_add_delete_gc(tmp_path, monkeypatch):
    """Three adders reuse each other's blobs and delete their own models while a fourth
    process runs gc, for a fixed time (60 s with ILABFS_STRESS=1, 15 s otherwise): no
    referenced blob is lost, no partial blob is visible, and fsck is clean at the end."""
    _run(tmp_path, adders=3, rounds=10_000, seconds=60 if STRESS else 15, monkeypatch=monkeypatch)
