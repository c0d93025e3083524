"""Checking a store and moving damaged blobs aside.

``check`` reports every problem it finds instead of stopping at the first,
and names the artifacts each damaged blob belongs to. Problems are errors
(damage: the store cannot give back what it promised) or garbage (blobs and
staging folders that gc would reclaim). ``repair`` never deletes: it moves
damaged blobs to ``quarantine/`` and returns the artifacts that must be
added or pulled again.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass, field

from .digest import format_digest, short_id
from .errors import CorruptStoreError
from .fsutil import fsync_dir, is_read_only
from .gc import abandoned_staging, list_blobs, live_pins, staging_grace
from .hashing import hash_path
from .index import Entry, Index, integrity_problems, load_index
from .layout import Layout
from .locks import file_lock
from .manifest import parse_config, parse_manifest
from .summary import summary_of

ERROR = "error"
GARBAGE = "garbage"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One finding: its code, severity, the blob or path it concerns and the artifacts it affects."""

    code: str
    severity: str
    subject: str
    message: str
    affects: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"code": self.code, "severity": self.severity, "subject": self.subject, "message": self.message, "affects": list(self.affects)}


@dataclass
class Report:
    """Everything ``check`` found, and what it looked at."""

    problems: list[Problem] = field(default_factory=list)
    blobs_checked: int = 0
    artifacts_checked: int = 0
    bytes_hashed: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def clean(self) -> bool:
        return not self.errors

    def add(self, *args, **kwargs) -> None:
        self.problems.append(Problem(*args, **kwargs))


def _label(entry: Entry) -> str:
    return f"{entry.kind} {short_id(entry.digest)} ({', '.join(entry.names) or '<none>'})"


def check(layout: Layout, fast: bool = False) -> Report:
    """Check blobs, manifests, config documents, the index and staging; see the module doc.

    Holds gc.lock shared, so no gc or delete removes a blob while it is checked.
    """
    staging_grace()
    with file_lock(layout.locks / "gc.lock", shared=True):
        return _check(layout, fast)


def _check(layout: Layout, fast: bool) -> Report:
    report = Report()
    present = list_blobs(layout)
    try:
        index = load_index(layout, with_blobs=True)
        damage = integrity_problems(layout)
        if damage:
            raise CorruptStoreError(f"index {layout.index} is damaged: {'; '.join(' '.join(str(line).split()) for line in damage[:3])}", path=str(layout.index))
    except CorruptStoreError as error:
        report.add("index-unreadable", ERROR, str(layout.index), error.message)
        index = None

    if index is not None:
        _check_names(index, report)
    users = _blob_users(layout, index, present, report) if index else defaultdict(set)
    _check_blobs(layout, present, users, index, fast, report)
    if index is not None:
        _check_garbage(layout, present, users, report)
    return report


def _check_names(index: Index, report: Report) -> None:
    """Report names that two artifacts of one kind carry; a ref by that name would pick either."""
    for name, first, second in index.duplicate_names():
        message = f"{second.kind} name {name!r} is on both {first.digest[:12]} and {second.digest[:12]}"
        report.add("name-duplicate", ERROR, name, message, (_label(first), _label(second)))


def _blob_users(layout: Layout, index: Index, present: dict[str, int], report: Report) -> dict[str, set[str]]:
    """Map each blob to the artifacts that reach it, checking every manifest and config on the way."""
    users: dict[str, set[str]] = defaultdict(set)
    for entry in index.entries.values():
        report.artifacts_checked += 1
        label = _label(entry)
        users[entry.digest].add(label)
        for blob in entry.blobs:
            users[blob].add(label)
        if entry.digest not in present:
            report.add("manifest-missing", ERROR, format_digest(entry.digest), f"{label} points at a missing manifest", (label,))
            continue
        try:
            manifest = parse_manifest(layout.blob(entry.digest).read_bytes(), str(layout.blob(entry.digest)))
        except CorruptStoreError as error:
            report.add("manifest-invalid", ERROR, format_digest(entry.digest), error.message, (label,))
            continue
        for blob in manifest.blob_digests:
            users[blob].add(label)
        _check_entry_against_manifest(layout, entry, manifest, present, label, report)
    return users


def _check_entry_against_manifest(layout: Layout, entry: Entry, manifest, present: dict[str, int], label: str, report: Report) -> None:
    if manifest.kind != entry.kind:
        report.add("index-mismatch", ERROR, format_digest(entry.digest), f"{label} is a {manifest.kind} manifest in the index as a {entry.kind}", (label,))
    expected = {manifest.config_digest: manifest.config_size, **{layer.digest: layer.size for layer in manifest.layers}}
    listed = {blob: size for blob, size in entry.blobs.items() if blob != entry.digest}
    if entry.digest in present and entry.blobs.get(entry.digest) != present[entry.digest]:
        report.add("index-mismatch", ERROR, format_digest(entry.digest), f"the index's blob list for {label} lacks its manifest or gives it the wrong size", (label,))
    if listed != expected:
        report.add("index-mismatch", ERROR, format_digest(entry.digest), f"the index's blob list for {label} disagrees with its manifest", (label,))
    for blob, size in expected.items():
        if blob not in present:
            report.add("blob-missing", ERROR, format_digest(blob), f"blob {short_id(blob)} of {label} is missing", (label,))
    if entry.size != manifest.size:
        report.add("index-mismatch", ERROR, format_digest(entry.digest), f"the index's size for {label} disagrees with its manifest", (label,))
    if manifest.config_digest in present:
        try:
            config = parse_config(layout.blob(manifest.config_digest).read_bytes(), manifest.kind, str(layout.blob(manifest.config_digest)))
        except CorruptStoreError as error:
            report.add("config-invalid", ERROR, format_digest(manifest.config_digest), error.message, (label,))
            return
        if summary_of(manifest, config, entry.summary) != entry.summary:
            report.add("index-mismatch", ERROR, format_digest(entry.digest),
                       f"the index's listing row for {label} disagrees with its config document; ilab fsck --rebuild-index rewrites it", (label,))


def _check_blobs(layout: Layout, present: dict[str, int], users: dict[str, set[str]], index: Index | None, fast: bool, report: Report) -> None:
    expected_sizes: dict[str, int] = {}
    if index is not None:
        for entry in index.entries.values():
            expected_sizes.update(entry.blobs)
    for digest, size in sorted(present.items()):
        report.blobs_checked += 1
        affects = tuple(sorted(users.get(digest, ())))
        path = layout.blob(digest)
        expected = expected_sizes.get(digest)
        if expected is not None and expected != size:
            report.add("blob-size", ERROR, format_digest(digest), f"blob {short_id(digest)} has {size} bytes, expected {expected}", affects)
            continue
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            continue
        if not is_read_only(mode):
            report.add("blob-writable", WARNING, format_digest(digest), f"blob {short_id(digest)} is writable; a hardlinked view may have been opened for writing", affects)
        if not fast:
            try:
                actual = hash_path(path)
            except FileNotFoundError:
                continue
            report.bytes_hashed += size
            if actual != digest:
                report.add("blob-digest", ERROR, format_digest(digest), f"blob {short_id(digest)} does not match its digest (content hashes to {short_id(actual)})", affects)


def _check_garbage(layout: Layout, present: dict[str, int], users: dict[str, set[str]], report: Report) -> None:
    pinned = live_pins(layout)
    for digest in sorted(present):
        if digest not in users and digest not in pinned:
            report.add("blob-unreferenced", GARBAGE, format_digest(digest), f"blob {short_id(digest)} is not referenced; ilab gc reclaims it")
    for name, size in abandoned_staging(layout):
        report.add("staging-stale", GARBAGE, str(layout.staging / name), f"abandoned staging folder {name} ({size} bytes); ilab gc removes it")


def _remove_damaged_views(layout: Layout, report: Report) -> None:
    from .views import views_root

    damaged = {label.split()[1] for p in report.problems if p.severity == ERROR for label in p.affects}
    root = views_root(layout)
    if not root.is_dir():
        return
    for kind_dir in root.iterdir():
        for view in kind_dir.iterdir():
            if view.name[:12] in damaged:
                shutil.rmtree(view, ignore_errors=True)


REPAIRABLE = {"blob-size", "blob-digest", "manifest-invalid", "config-invalid"}


@dataclass(frozen=True)
class RepairResult:
    """The outcome of ``repair``: quarantined blobs and the artifacts to add or pull again."""

    quarantined: tuple[str, ...]
    folder: str
    fixed_modes: tuple[str, ...]
    to_readd: tuple[str, ...]


def repair(layout: Layout, report: Report) -> RepairResult:
    """Move damaged blobs to ``quarantine/<time>/`` and make writable blobs read-only again.

    Views of the affected artifacts are removed too: a hardlinked view file
    would otherwise keep serving the damaged bytes.
    """
    with file_lock(layout.locks / "gc.lock"):
        return _repair(layout, report)


def _repair(layout: Layout, report: Report) -> RepairResult:
    folder = layout.quarantine / time.strftime("%Y%m%dT%H%M%S")
    moved: list[str] = []
    fixed: list[str] = []
    affected: set[str] = set()
    for problem in report.problems:
        digest = problem.subject.partition(":")[2]
        if problem.code in REPAIRABLE and digest and layout.blob(digest).exists():
            folder.mkdir(parents=True, exist_ok=True)
            os.rename(layout.blob(digest), folder / digest)
            moved.append(problem.subject)
        elif problem.code == "blob-writable":
            with contextlib.suppress(OSError):
                os.chmod(layout.blob(digest), 0o444)
                fixed.append(problem.subject)
        if problem.severity == ERROR:
            affected.update(problem.affects)
    if moved:
        fsync_dir(layout.blobs)
        _remove_damaged_views(layout, report)
    return RepairResult(tuple(moved), str(folder), tuple(fixed), tuple(sorted(affected)))

