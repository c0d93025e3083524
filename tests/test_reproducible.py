"""The same files with the same declared metadata give the same manifest digest anywhere."""

from __future__ import annotations

import os
import shutil
import time

from ilabfs.models import add_model
from ilabfs.store import Store


def test_two_stores_same_digest(tmp_path, model_pair):
    base = model_pair[0]
    copy = tmp_path / "elsewhere" / "renamed-dir"
    shutil.copytree(base, copy)
    old = time.time() - 86400
    for name in os.listdir(copy):
        os.utime(copy / name, (old, old))

    first = add_model(Store(tmp_path / "a"), base, "granite")
    second = add_model(Store(tmp_path / "b"), copy, "other-name:v9", mode="link")
    assert first.digest == second.digest


def test_declared_lineage_changes_digest(tmp_path, model_pair):
    base, tuned = model_pair
    store = Store(tmp_path / "s")
    add_model(store, base, "base")
    plain = add_model(store, tuned, "tuned")
    with_base = add_model(store, tuned, "tuned-b", base="base")
    with_phase = add_model(store, tuned, "tuned-p", base="base", phase="phase1")
    assert len({plain.digest, with_base.digest, with_phase.digest}) == 3
