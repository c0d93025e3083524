"""Paths of the on-disk store and its format marker.

The tree (specified in docs/format.md)::

    <root>/
      ilabfs-layout          format marker: {"ilabfsLayoutVersion": 2}
      blobs/blake3/<hex>     file contents, config documents and manifests
      manifests/index.db     SQLite: names and tags -> manifest digests, listing rows, blob references
      staging/<ingest-id>/   in-flight ingests, each with its lease file
      views/<kind>/<hex>/    materialised views made by ilab model path
      locks/                 lock files (index.lock, gc.lock)
      quarantine/            damaged blobs moved aside by fsck --repair
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .digest import ALGORITHM
from .errors import CorruptStoreError, NotFoundError, UnsupportedFormatError
from .fsutil import atomic_write

LAYOUT_VERSION = 2
MARKER = "ilabfs-layout"
SUPPORTED_VERSIONS = frozenset({LAYOUT_VERSION})
# Versions this release converts in place when it opens the store.
UPGRADABLE_VERSIONS = frozenset({1})


@dataclass(frozen=True)
class Layout:
    """The paths of one store, rooted at ``root``."""

    root: Path

    @property
    def marker(self) -> Path:
        return self.root / MARKER

    @property
    def blobs(self) -> Path:
        return self.root / "blobs" / ALGORITHM

    @property
    def manifests(self) -> Path:
        return self.root / "manifests"

    @property
    def index(self) -> Path:
        return self.manifests / "index.db"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    def blob(self, hex_digest: str) -> Path:
        return self.blobs / hex_digest


def open_layout(root: Path, *, create: bool) -> Layout:
    """Check the format marker of the store at ``root``, creating or upgrading the store if needed."""
    layout = Layout(root)
    if not layout.marker.exists():
        if not create:
            raise NotFoundError(
                f"no ilabfs store at {root}",
                hint="add an artifact to create it, or point --store at an existing store",
                path=str(root),
            )
        _create(layout)
    version = read_version(layout)
    if type(version) is int and version in UPGRADABLE_VERSIONS:
        from .upgrade import upgrade

        upgrade(layout)
    _check_version(layout)
    return layout


def _create(layout: Layout) -> None:
    for folder in (layout.blobs, layout.manifests, layout.staging, layout.locks):
        folder.mkdir(parents=True, exist_ok=True)
    # Two processes may create the store at once; both write the same bytes.
    write_marker(layout)


def write_marker(layout: Layout, version: int = LAYOUT_VERSION) -> None:
    atomic_write(layout.marker, json.dumps({"ilabfsLayoutVersion": version}).encode() + b"\n")


def read_version(layout: Layout) -> object:
    try:
        return json.loads(layout.marker.read_bytes())["ilabfsLayoutVersion"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CorruptStoreError(
            f"format marker {layout.marker} is unreadable: {error}",
            hint=f'it must contain {{"ilabfsLayoutVersion": {LAYOUT_VERSION}}}; run ilab fsck',
            path=str(layout.marker),
        ) from error


def _check_version(layout: Layout) -> None:
    version = read_version(layout)
    if type(version) is not int or version not in SUPPORTED_VERSIONS:
        raise UnsupportedFormatError(
            f"store {layout.root} uses format version {version!r}, "
            f"but this ilabfs reads only version {LAYOUT_VERSION}",
            hint="upgrade ilabfs to a release that knows this format",
            path=str(layout.root),
            version=version,
        )
    for folder in (layout.blobs, layout.manifests, layout.staging, layout.locks):
        if not folder.is_dir():
            os.makedirs(folder, exist_ok=True)
