"""An independent checker of a store's invariants, reading the disk with its own code.

Used by the crash and concurrency tests, so that a bug in ilabfs cannot hide
itself by being present in both the code under test and the check.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import blake3
from indexdb import read_index


def blake3_file(path: Path) -> str:
    hasher = blake3.blake3()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def check_store(store: Path, verify_hashes: bool = True) -> list[str]:
    """Return every broken invariant found: partial or misnamed blobs, names without content."""
    problems: list[str] = []
    blobs = store / "blobs" / "blake3"
    present = set(os.listdir(blobs)) if blobs.exists() else set()
    if verify_hashes:
        for name in sorted(present):
            if blake3_file(blobs / name) != name:
                problems.append(f"blob {name} does not hash to its name")

    index = read_index(store)
    for digest, entry in index["artifacts"].items():
        missing = [blob for blob in [digest, *entry["blobs"]] if blob not in present]
        if missing:
            problems.append(f"artifact {digest[:12]} {entry['names']} misses blobs {missing}")
            continue
        manifest = json.loads((blobs / digest).read_bytes())
        for layer in [manifest["config"], *manifest["layers"]]:
            if layer["digest"].split(":")[1] not in present:
                problems.append(f"artifact {digest[:12]} misses layer {layer['digest']}")
    return problems


def named_artifacts(store: Path) -> dict[str, list[str]]:
    return {digest: entry["names"] for digest, entry in read_index(store)["artifacts"].items()}
