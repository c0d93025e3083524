"""The store: opening it, resolving refs, reading manifests, adding artifacts.

Write order is blobs, then the manifest, then the index: a crash at any
point leaves at worst unreferenced blobs, never a name that points at
missing content.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from .digest import format_digest, short_id
from .errors import AlreadyExistsError, CorruptStoreError, InvalidInputError, NoSpaceError
from .fsutil import free_bytes
from .index import Entry, Index, blob_sizes, editing_index, load_index
from .layout import Layout, open_layout
from .manifest import Manifest, parse_config, parse_manifest
from .refs import full_name, resolve

if TYPE_CHECKING:
    # Hashing, ingest and xattr modules load only when an add runs, so
    # listing and resolving refs start fast.
    from .hashing import Progress
    from .ingest import Ingest, IngestStats
    from .manifest import Layer
    from .scan import SourceFile

log = logging.getLogger(__name__)

# Free space kept in reserve beyond the bytes an add will write.
SPACE_MARGIN = 64 << 20


@dataclass
class AddResult:
    """The outcome of an add: the artifact's digest and name, and what the ingest did."""

    digest: str
    name: str | None
    kind: str
    new: bool
    stats: IngestStats | None = None

    @property
    def id(self) -> str:
        return short_id(self.digest)


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Store:
    """A content-addressed store rooted at one folder."""

    def __init__(self, root: str | os.PathLike, *, create: bool = True) -> None:
        self.root = Path(os.path.abspath(os.path.expanduser(root)))
        self.layout: Layout = open_layout(self.root, create=create)

    # -- reading ------------------------------------------------------------

    def index(self, with_blobs: bool = False) -> Index:
        return load_index(self.layout, with_blobs=with_blobs)

    def resolve(self, kind: str, ref: str, index: Index | None = None) -> Entry:
        return resolve(index or self.index(), kind, ref)

    def read_manifest(self, digest: str) -> Manifest:
        path = self.layout.blob(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise CorruptStoreError(
                f"manifest {format_digest(digest)} is missing from {path}",
                hint="run ilab fsck to see what it affects",
                digest=digest,
            ) from None
        return parse_manifest(data, str(path))

    def read_config(self, manifest: Manifest) -> dict:
        path = self.layout.blob(manifest.config_digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise CorruptStoreError(f"config document {path} is missing", hint="run ilab fsck", path=str(path)) from None
        return parse_config(data, manifest.kind, str(path))

    # -- adding -------------------------------------------------------------

    def add_artifact(
        self,
        kind: str,
        sources: list[SourceFile],
        config: dict,
        name: str | None,
        *,
        mode: str = "copy",
        summary: dict | None = None,
        subject: Entry | None = None,
        force: bool = False,
        progress: Progress | None = None,
    ) -> AddResult:
        """Store ``sources`` as one artifact of ``kind`` and name it.

        ``config`` becomes the config document; ``summary`` is the row that
        listings print. With ``force`` an existing name moves to the new artifact.
        ``progress`` is called with byte counts as files are read; if it has a
        ``total`` attribute, that is set to the bytes to read first.
        """
        from .ingest import MODES
        from .manifest import Layer

        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        name = full_name(name) if name is not None else None
        self._check_not_overlapping(sources)
        index = self.index()
        if name:
            self._precheck_name(kind, name, sources, force, index)
        self._check_space(sources, mode)
        if progress is not None and hasattr(progress, "total"):
            progress.total = sum(source.size for source in sources)
        with self.transaction(blob_sizes(self.layout)) as ingest:
            ingest.planned_bytes = sum(source.size for source in sources) if mode == "copy" else 0
            layers = [Layer(src.title, ingest.commit_file(src, mode, progress), src.size) for src in sources]
            result = self.finish_artifact(ingest, kind, layers, config, name, summary=summary, subject=subject, force=force)

        if mode == "move":
            _remove_moved(sources)
        return result

    @contextlib.contextmanager
    def transaction(self, known_sizes: frozenset[int] = frozenset()) -> Iterator[Ingest]:
        """Run one ingest: yield it, and roll back the blobs it committed when the block fails.

        Callers that write blobs themselves (a pull) commit them through the
        ingest and end with finish_artifact(), which names the artifact.
        """
        from . import gc
        from .ingest import Ingest

        gc.clean_staging(self.layout)
        ingest = Ingest(self.layout, known_sizes)
        try:
            with ingest:
                yield ingest
        except BaseException:
            _roll_back(self.layout, ingest.pins)
            raise

    def finish_artifact(
        self,
        ingest: Ingest,
        kind: str,
        layers: list[Layer],
        config: dict,
        name: str | None,
        *,
        summary: dict | None = None,
        subject: Entry | None = None,
        force: bool = False,
    ) -> AddResult:
        """Commit the config document and manifest over ``layers``, then name the artifact.

        Every layer's blob must have been committed or pinned by ``ingest``.
        """
        from .manifest import build_manifest, config_bytes

        name = full_name(name) if name is not None else None
        ingest.seal()
        config_data = config_bytes(config)
        config_digest = ingest.commit_bytes(config_data)
        subject_ref = (subject.digest, self._blob_size(subject.digest)) if subject else None
        manifest_data = build_manifest(kind, config_digest, len(config_data), layers, subject_ref)
        digest = ingest.commit_bytes(manifest_data)

        blobs = {layer.digest: layer.size for layer in layers}
        blobs[config_digest] = len(config_data)
        blobs[digest] = len(manifest_data)
        new, stored_name = self._name_artifact(kind, digest, name, blobs, sum(layer.size for layer in layers), summary or {}, force)
        return AddResult(digest, stored_name, kind, new, ingest.stats)

    def _blob_size(self, digest: str) -> int:
        try:
            return os.stat(self.layout.blob(digest)).st_size
        except FileNotFoundError:
            raise CorruptStoreError(
                f"manifest {format_digest(digest)} is missing from {self.layout.blob(digest)}",
                hint="run ilab fsck to see what it affects",
                digest=digest,
            ) from None

    def _name_artifact(self, kind: str, digest: str, name: str | None, blobs: dict, size: int, summary: dict, force: bool) -> tuple[bool, str | None]:
        """Record the artifact and its name; return whether it is new and the name's stored spelling."""
        with editing_index(self.layout) as index:
            if name:
                self._check_name_free(kind, name, digest, force, index)
                for other in index.entries.values():
                    if other.kind == kind and other.digest != digest:
                        other.names = [n for n in other.names if n.casefold() != name.casefold()]
            entry = index.entries.get(digest)
            new = entry is None
            if entry is None:
                entry = Entry(digest, kind, utc_now(), [], size, blobs, summary)
                index.entries[digest] = entry
            if name and name.casefold() not in {n.casefold() for n in entry.names}:
                entry.names.append(name)
            stored = next((n for n in entry.names if name and n.casefold() == name.casefold()), name)
        return new, stored

    def _check_not_overlapping(self, sources: list[SourceFile]) -> None:
        """Reject any source file that lies inside the store.

        That happens when the source is part of the store or a folder that
        contains it; move mode would then unlink the store's own files.
        """
        real_root = os.path.realpath(self.root)
        for source in sources:
            real = os.path.realpath(source.path)
            if real.startswith(real_root + os.sep):
                raise InvalidInputError(
                    f"{source.path} is inside the store {self.root}: the source contains the store or is part of it",
                    hint="keep the store outside the folders you add (or pass --store elsewhere); ilab model path reads stored files",
                    path=str(source.path),
                )

    def _precheck_name(self, kind: str, name: str, sources: list[SourceFile], force: bool, index: Index) -> None:
        """Fail before copying when the name is taken by an artifact that cannot be these files.

        Different file counts or total sizes prove different content; equal
        ones may be a re-add of the same files, which the final check settles.
        """
        taken_by = index.name_map(kind).get(name.casefold())
        if taken_by is None or force:
            return
        entry = index.entries[taken_by]
        same_shape = entry.size == sum(s.size for s in sources) and entry.summary.get("files") in (None, len(sources))
        if not same_shape:
            self._check_name_free(kind, name, None, force, index)

    def _check_name_free(self, kind: str, name: str, digest: str | None, force: bool, index: Index) -> None:
        taken_by = index.name_map(kind).get(name.casefold())
        if taken_by is None or taken_by == digest or force:
            return
        raise AlreadyExistsError(
            f"{kind} name {name!r} already points at {short_id(taken_by)}",
            hint="choose another name or tag, or pass --force to move the name",
            name=name,
            digest=taken_by,
        )

    def _check_space(self, sources: list[SourceFile], mode: str) -> None:
        """Fail before writing when the bytes still to write do not fit."""
        if mode != "copy":
            return
        needed = sum(source.size for source in sources if not self._already_stored(source))
        if needed == 0:
            return
        free = free_bytes(self.layout.staging)
        if needed + SPACE_MARGIN > free:
            raise NoSpaceError(
                f"not enough space in {self.root}: {needed + SPACE_MARGIN} bytes needed "
                f"({needed} to write and {SPACE_MARGIN} in reserve), {free} bytes free",
                hint="free some space (ilab gc reclaims unused blobs) or use --mode link",
                needed=needed,
                free=free,
            )

    def _already_stored(self, source: SourceFile) -> bool:
        try:
            fd = os.open(source.path, os.O_RDONLY)
        except OSError:
            return False
        from . import hashcache

        try:
            digest = hashcache.lookup(fd, os.fstat(fd))
        finally:
            os.close(fd)
        return bool(digest) and self.layout.blob(digest).exists()


def _roll_back(layout: Layout, pins: set[str]) -> None:
    """Remove the blobs a failed add committed, unless something else references or pins them."""
    from . import gc

    if not pins:
        return
    try:
        gc.collect(layout, only=set(pins), timeout=5)
    except Exception as error:  # noqa: BLE001 - the add's own error matters more; gc reclaims later
        log.warning("could not roll back the failed add (%s); ilab gc will reclaim its blobs", error)


def _remove_moved(sources: list[SourceFile]) -> None:
    """Unlink the sources of a move once the artifact is named, then the folders that became empty."""
    folders: set[Path] = set()
    for source in sources:
        try:
            os.unlink(source.path)
        except FileNotFoundError:
            continue
        # Every folder between the file and the source root may now be empty.
        parent = source.path.parent
        for _ in range(source.title.count("/") + 1):
            folders.add(parent)
            parent = parent.parent
    for folder in sorted(folders, key=lambda path: len(path.parts), reverse=True):
        try:
            folder.rmdir()
        except OSError:
            pass
