"""The Python entry point for trainers, data generators and evaluators.

Each function is one call that a pipeline step makes::

    from ilabfs import api

    model_dir = api.resolve_path("granite-7b-base")             # read a model by ref
    data_dir = api.resolve_path("skills-2025-01-14", kind="dataset")
    ref = api.save_checkpoint(out_dir, name="granite-ft:step-100", base="granite-7b-base",
                              dataset="skills-2025-01-14", phase="phase2", step=100, run="run-7")
    api.record_eval(ref, metric="MT-Bench", files=["mt_bench_result.json"])

Every function takes an optional ``store`` (a folder or a Store); without
one it uses the same store as the ``ilab`` command.
"""

from __future__ import annotations

import os
from pathlib import Path

from .digest import format_digest
from .store import AddResult, Store

StoreLike = Store | str | os.PathLike | None


def open_store(store: StoreLike = None, create: bool = True) -> Store:
    """Return a Store for ``store``, or for the default location (``ILABFS_STORE`` or the data dir)."""
    if isinstance(store, Store):
        return store
    from .locations import store_root

    return Store(store_root(store), create=create)


def pinned_ref(result: AddResult) -> str:
    """Return ``NAME:TAG@blake3:<hex>`` (or the bare digest for unnamed artifacts): a ref that cannot move."""
    digest = format_digest(result.digest)
    return f"{result.name}@{digest}" if result.name else digest


def resolve_path(ref: str, kind: str = "model", store: StoreLike = None, link: str | None = None) -> Path:
    """Return a folder holding the artifact's files under their original names, ready to load."""
    from .views import materialize

    opened = open_store(store, create=False)
    entry = opened.resolve(kind, ref)
    folder, _ = materialize(opened.layout, opened.read_manifest(entry.digest), entry.digest, None, link)
    return folder


def add_dataset(
    paths: list[str | os.PathLike] | str | os.PathLike,
    *,
    name: str,
    dataset_type: str,
    phase: str | None = None,
    teacher: str | None = None,
    test: list[str | os.PathLike] | None = None,
    store: StoreLike = None,
) -> str:
    """Validate and store a dataset (files or one SDG output folder); return its pinned ref."""
    from .datasets import add_dataset as add

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    result = add(open_store(store), list(paths), name, dataset_type=dataset_type, phase=phase, teacher=teacher, test=test)
    return pinned_ref(result)


def save_checkpoint(
    path: str | os.PathLike,
    *,
    name: str,
    base: str | None = None,
    dataset: str | None = None,
    phase: str | None = None,
    step: int | None = None,
    run: str | None = None,
    mode: str = "move",
    store: StoreLike = None,
) -> str:
    """Move a checkpoint folder a trainer just wrote into the store, with its lineage; return its pinned ref.

    Move mode hardlinks the files into the store and removes the folder once
    the checkpoint is named, so no byte is copied and a crash loses nothing.
    """
    from .models import add_model

    result = add_model(open_store(store), path, name, mode=mode, base=base, dataset=dataset, phase=phase, step=step, run=run)
    return pinned_ref(result)


def record_eval(
    model: str,
    *,
    metric: str | None = None,
    score: float | None = None,
    files: list[str | os.PathLike] | None = None,
    store: StoreLike = None,
) -> str:
    """Store an eval result for ``model``; the score is read from ``files`` when not given. Return its digest."""
    from .evals import add_eval

    return pinned_ref(add_eval(open_store(store), model, metric=metric, score=score, files=files))
