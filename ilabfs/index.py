"""The index: which manifests the store keeps, under which names, since when.

``manifests/index.db`` is the single root set of the store, an SQLite
database. Each kept manifest is one ``artifact`` row: its kind, names
(``name:tag``), creation time, size and the summary row that listings print.
The ``reference`` table lists every blob each manifest reaches. Listing,
delete and gc therefore open no manifest per artifact, and a delete finds the
blobs only it used by indexed lookups instead of a scan of the whole store.

Every change is one SQLite transaction, taken under ``locks/index.lock`` so
that writers also follow the store's own lock protocol. SQLite's rollback
journal makes each transaction atomic and durable across a crash.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .digest import is_hex_digest
from .errors import CorruptStoreError, LockedError
from .fsutil import fsync_dir, raise_if_no_space
from .layout import Layout
from .locks import default_timeout, file_lock
from .manifest import KINDS

# Stored in the database header (PRAGMA application_id): the bytes "ilfs".
APPLICATION_ID = 0x696C6673
INDEX_SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE artifact (
    id INTEGER PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE CHECK (length(digest) = 64 AND digest NOT GLOB '*[^0-9a-f]*'),
    kind TEXT NOT NULL,
    created TEXT NOT NULL,
    names TEXT NOT NULL,
    size INTEGER NOT NULL CHECK (size >= 0),
    summary TEXT NOT NULL
);
CREATE TABLE reference (
    artifact INTEGER NOT NULL REFERENCES artifact (id),
    kind TEXT NOT NULL CHECK (kind IN ('model', 'dataset', 'eval')),
    blob TEXT NOT NULL CHECK (length(blob) = 64 AND blob NOT GLOB '*[^0-9a-f]*'),
    size INTEGER NOT NULL CHECK (size >= 0),
    PRIMARY KEY (artifact, blob)
) WITHOUT ROWID;
CREATE INDEX reference_by_kind_blob ON reference (kind, blob, size);
"""

# Every lookup by blob names the kinds, so that SQLite can use the index above.
KIND_LIST = "(" + ", ".join(f"'{kind}'" for kind in KINDS) + ")"


# Summary fields that hold the manifest digest (hex) of another artifact.
LINK_FIELDS = ("base", "dataset", "subject", "teacher")


@dataclass
class Entry:
    """One kept artifact, keyed by its manifest digest (hex).

    ``blobs`` maps every blob the manifest reaches, the manifest itself
    included, to its size. It is None when the index was loaded without
    blob lists, so code that needs them fails loudly instead of seeing none.
    """

    digest: str
    kind: str
    created: str
    names: list[str] = field(default_factory=list)
    size: int = 0
    blobs: dict[str, int] | None = field(default_factory=dict)
    summary: dict = field(default_factory=dict)

    def blob_list(self) -> dict[str, int]:
        if self.blobs is None:
            raise RuntimeError(f"the blob list of {self.digest} was not loaded; load the index with with_blobs=True")
        return self.blobs


@dataclass
class Index:
    """The kept artifacts, as loaded."""

    entries: dict[str, Entry] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[Entry]:
        return [entry for entry in self.entries.values() if entry.kind == kind]

    def name_map(self, kind: str) -> dict[str, str]:
        """Return case-folded ``name:tag`` -> manifest digest for one kind."""
        names: dict[str, str] = {}
        for entry in self.entries.values():
            if entry.kind == kind:
                for name in entry.names:
                    names[name.casefold()] = entry.digest
        return names

    def duplicate_names(self) -> list[tuple[str, Entry, Entry]]:
        """Return each name that a second artifact of the same kind also carries: (name, first, second)."""
        owners: dict[tuple[str, str], Entry] = {}
        found = []
        for entry in self.entries.values():
            for name in entry.names:
                first = owners.setdefault((entry.kind, name.casefold()), entry)
                if first is not entry:
                    found.append((name, first, entry))
        return found

    def referenced_blobs(self) -> set[str]:
        """Return every blob the kept artifacts reach: manifests, configs and files."""
        reached: set[str] = set()
        for entry in self.entries.values():
            reached.add(entry.digest)
            reached.update(entry.blob_list())
        return reached


# -- opening ---------------------------------------------------------------


def _connect(path: Path) -> sqlite3.Connection:
    """Open an existing index for reading and writing; raise FileNotFoundError when there is none.

    Readers open it writable too: after a crashed writer, the first reader
    rolls the database back from its journal, which needs write access.
    """
    if not path.exists():
        raise FileNotFoundError(path)
    # A store this user may only read is still listed; writes then fail as SQLite's read-only error.
    mode = "rw" if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK) else "ro"
    try:
        # SQLite's own lock is held for milliseconds per commit; waiting as long as for a store lock covers a stall.
        db = sqlite3.connect(f"file:{path}?mode={mode}", uri=True, timeout=default_timeout(), isolation_level=None)
    except sqlite3.OperationalError as error:
        if not path.exists():
            raise FileNotFoundError(path) from error
        _database_error(path, error)
    try:
        db.execute("PRAGMA synchronous = FULL")
        application_id, version = db.execute("PRAGMA application_id").fetchone()[0], db.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as error:
        db.close()
        _database_error(path, error)
    if application_id != APPLICATION_ID or version != INDEX_SCHEMA_VERSION:
        db.close()
        _corrupt(path, f"not an ilabfs index of schema version {INDEX_SCHEMA_VERSION} (application_id {application_id:#x}, user_version {version})")
    return db


def _create(path: Path, entries: Iterable[Entry] = ()) -> None:
    """Write a complete index to a temporary file and rename it over ``path``.

    Readers see the old index or the new one. Callers hold ``index.lock``, so
    every temporary index left by a killed writer is stale and removed here.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    for leftover in path.parent.glob(f".{path.name}.*.tmp*"):
        leftover.unlink(missing_ok=True)
    try:
        db = sqlite3.connect(tmp, isolation_level=None)
        try:
            db.execute("PRAGMA synchronous = FULL")
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {INDEX_SCHEMA_VERSION}")
            db.execute("BEGIN")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            for entry in entries:
                _insert(db, entry)
            db.execute("COMMIT")
        finally:
            db.close()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise_if_no_space(error, path, 0)
        raise
    except sqlite3.OperationalError as error:
        tmp.unlink(missing_ok=True)
        if "full" in str(error):
            raise_if_no_space(OSError(28, str(error)), path, 0)
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


# -- reading ---------------------------------------------------------------


def load_index(layout: Layout, *, with_blobs: bool = False) -> Index:
    """Read the index; a missing index is an empty store, a damaged one an error.

    Without ``with_blobs`` every entry's ``blobs`` is None: listing and
    resolving refs need only the rows.
    """
    with _reading(layout.index) as db:
        return _read(db, layout.index, with_blobs) if db else Index()


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[sqlite3.Connection | None]:
    """Yield a connection inside one read transaction, or None when there is no index yet.

    An SQLite error inside the block becomes the store error it means.
    """
    try:
        db = _connect(path)
    except FileNotFoundError:
        yield None
        return
    try:
        db.execute("BEGIN")
        yield db
    except sqlite3.DatabaseError as error:
        _database_error(path, error)
    finally:
        db.close()


def _quick_check(db: sqlite3.Connection) -> list[str]:
    """Return the problems SQLite's quick_check finds, each on one line; empty when the file is sound."""
    rows = [" ".join(str(row[0]).split()) for row in db.execute("PRAGMA quick_check")]
    return [] if rows == ["ok"] else rows


def _read(db: sqlite3.Connection, path: Path, with_blobs: bool) -> Index:
    index = Index()
    by_id: dict[int, Entry] = {}
    try:
        rows = db.execute("SELECT id, digest, kind, created, size, names, summary FROM artifact").fetchall()
        for row, (names, summary) in zip(rows, _parse_texts(db, rows, path)):
            entry = _entry(row, names, summary, path)
            index.entries[entry.digest] = entry
            by_id[row[0]] = entry
        if with_blobs:
            for entry in by_id.values():
                entry.blobs = {}
            for artifact, kind, blob, size in db.execute("SELECT artifact, kind, blob, size FROM reference"):
                owner = by_id.get(artifact)
                if owner is None or owner.kind != kind:
                    _corrupt(path, f"a reference to blob {blob} belongs to no {kind} artifact")
                if type(size) is not int or not 0 <= size <= MAX_SIZE:
                    _corrupt(path, f"the reference to blob {blob} has a malformed size {size!r}")
                owner.blobs[blob] = size
    except sqlite3.DatabaseError as error:
        _database_error(path, error)
    return index


def _parse_texts(db: sqlite3.Connection, rows: list[tuple], path: Path) -> list:
    """Return the parsed (names, summary) pair of every row, in order.

    One json.loads of all rows takes a fraction of the time of one call per
    row. Joining is only safe when every text is one complete JSON array or
    object, so SQLite's json_valid checks that first. Any doubt falls back to
    parsing row by row, which names the malformed row.
    """
    (bad,) = db.execute(
        "SELECT count(*) FROM artifact WHERE NOT (json_valid(names) AND json_type(names) = 'array'"
        " AND json_valid(summary) AND json_type(summary) = 'object')"
    ).fetchone()
    if bad == 0:
        try:
            parsed = json.loads("[" + ",".join(f"[{row[5]},{row[6]}]" for row in rows) + "]", parse_constant=_reject_constant)
        except ValueError:
            parsed = None
        if parsed is not None and len(parsed) == len(rows):
            return parsed
    return [_parse_row(row, path) for row in rows]


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _parse_row(row: tuple, path: Path) -> tuple:
    try:
        return json.loads(row[5], parse_constant=_reject_constant), json.loads(row[6], parse_constant=_reject_constant)
    except (TypeError, ValueError):
        _corrupt(path, f"artifact {row[1]} has malformed names or summary")


def _entry(row: tuple, names: object, summary: object, path: Path) -> Entry:
    _, digest, kind, created, size, _, _ = row
    entry = Entry(digest, kind, created, names, size, None, summary)
    check_entry(entry, path)
    return entry


# Summary members with the JSON types a listing can format; None is allowed for each.
SUMMARY_TYPES = {
    "files": (int,),
    "step": (int,),
    "samples": (int,),
    "score": (int, float),
    "dataType": (str,),
    "format": (str,),
    "phase": (str,),
    "run": (str,),
    "type": (str,),
    "metric": (str,),
    "date": (str,),
    "teacherName": (str,),
}

MAX_SIZE = (1 << 63) - 1


def check_entry(entry: Entry, path: Path, *, strict_names: bool = False) -> None:
    """Raise CorruptStoreError naming ``path`` when a row is not one this version can list.

    ``strict_names`` also checks each name's syntax, which a conversion does
    once; a reader trusts names that only ilabfs wrote.
    """
    digest, summary = entry.digest, entry.summary
    if entry.kind not in KINDS:
        _corrupt(path, f"artifact {digest} has unknown kind {entry.kind!r}")
    if not isinstance(entry.names, list) or not all(isinstance(name, str) for name in entry.names):
        _corrupt(path, f"artifact {digest} has malformed names")
    if not isinstance(summary, dict):
        _corrupt(path, f"artifact {digest} has a malformed summary")
    if type(entry.size) is not int or not 0 <= entry.size <= MAX_SIZE or not _is_timestamp(entry.created):
        _corrupt(path, f"artifact {digest} has a malformed size or creation time")
    for key in LINK_FIELDS:
        if key in summary and not (isinstance(summary[key], str) and is_hex_digest(summary[key])):
            _corrupt(path, f"artifact {digest} has a malformed {key} link {summary[key]!r}")
    for key, types in SUMMARY_TYPES.items():
        value = summary.get(key)
        if value is not None and (type(value) not in types or value != value):
            _corrupt(path, f"artifact {digest} has a malformed {key} {value!r} in its summary")
    if entry.blobs is not None and not all(type(size) is int and 0 <= size <= MAX_SIZE for size in entry.blobs.values()):
        _corrupt(path, f"artifact {digest} has a malformed blob size")
    if strict_names:
        _check_names(entry, path)


def _check_names(entry: Entry, path: Path) -> None:
    from .errors import InvalidInputError
    from .refs import full_name

    for name in entry.names:
        try:
            valid = full_name(name) == name
        except InvalidInputError:
            valid = False
        if not valid:
            _corrupt(path, f"artifact {entry.digest} has an invalid name {name!r}")


def _is_timestamp(value: object) -> bool:
    import datetime

    if not isinstance(value, str):
        return False
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def load_roots(layout: Layout, *, with_references: bool = True) -> tuple[set[str], set[str]]:
    """Return the kept manifest digests and every blob they reach, read in one transaction.

    This is gc's root set. Every row is checked as a listing checks it, and
    SQLite checks the file's structure first, so a damaged index stops gc
    instead of shrinking what it keeps.
    """
    with _reading(layout.index) as db:
        if db is None:
            return set(), set()
        if with_references:
            damage = _quick_check(db)
            if damage:
                _corrupt(layout.index, "; ".join(damage[:3]))
        artifacts = set(_read(db, layout.index, with_blobs=False).entries)
        blobs = {blob for (blob,) in db.execute("SELECT blob FROM reference")} if with_references else set()
        return artifacts, blobs


def still_referenced(layout: Layout, blobs: Iterable[str]) -> set[str]:
    """Return those of ``blobs`` that some kept artifact references, by index lookups."""
    with _reading(layout.index) as db:
        if db is None:
            return set()
        query = f"SELECT 1 FROM reference WHERE kind IN {KIND_LIST} AND blob = ? LIMIT 1"
        return {blob for blob in blobs if db.execute(query, (blob,)).fetchone()}


def salvage_rows(layout: Layout) -> dict[str, Entry]:
    """Return the artifact rows of a damaged index that still read as valid, by manifest digest.

    ``ilab fsck --rebuild-index`` uses them to give recovered manifests their
    names and creation times back. Rows that fail any check, and the whole
    index when SQLite cannot read the table, are left out.
    """
    salvaged: dict[str, Entry] = {}
    try:
        db = sqlite3.connect(f"file:{layout.index}?mode=ro", uri=True)
    except sqlite3.Error:
        return salvaged
    try:
        rows = db.execute("SELECT id, digest, kind, created, size, names, summary FROM artifact").fetchall()
    except sqlite3.Error:
        return salvaged
    finally:
        db.close()
    for row in rows:
        try:
            names, summary = _parse_row(row, layout.index)
            entry = _entry(row, names, summary, layout.index)
        except (CorruptStoreError, TypeError):
            continue
        if isinstance(entry.digest, str) and is_hex_digest(entry.digest):
            salvaged[entry.digest] = entry
    return salvaged


def integrity_problems(layout: Layout) -> list[str]:
    """Return what SQLite's own consistency check finds wrong with the index file; empty when sound."""
    try:
        db = _connect(layout.index)
    except FileNotFoundError:
        return []
    try:
        return _quick_check(db)
    except sqlite3.DatabaseError as error:
        return [str(error)]
    finally:
        db.close()


def blob_sizes(layout: Layout) -> frozenset[int]:
    """Return the distinct sizes of the referenced blobs; an ingest pre-hashes files of these sizes."""
    with _reading(layout.index) as db:
        if db is None:
            return frozenset()
        return frozenset(size for (size,) in db.execute("SELECT DISTINCT size FROM reference"))


def _database_error(path: Path, error: sqlite3.DatabaseError) -> None:
    """Raise the store error that an SQLite error on the index means: busy, or damaged."""
    if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
        raise LockedError(
            f"timed out after {default_timeout():g}s waiting for another process's lock on the index {path}",
            hint="wait for the other ilab command to finish, or raise ILABFS_LOCK_TIMEOUT",
            path=str(path),
        ) from error
    _corrupt(path, str(error))


def _corrupt(path: Path, reason: str) -> None:
    raise CorruptStoreError(
        f"index {path} is unreadable: {reason}",
        hint="run ilab fsck; commands that change the store refuse to run until it is repaired",
        path=str(path),
    )


# -- writing ---------------------------------------------------------------


@dataclass
class OpenIndex(Index):
    """An index loaded inside an open transaction; queries see that transaction's state."""

    db: sqlite3.Connection | None = None

    @classmethod
    def read(cls, db: sqlite3.Connection, path: Path) -> OpenIndex:
        return cls(_read(db, path, with_blobs=False).entries, db)

    @classmethod
    def empty(cls) -> OpenIndex:
        """Return an index of no artifacts whose queries run on an empty in-memory database."""
        db = sqlite3.connect(":memory:", isolation_level=None)
        db.executescript(SCHEMA)
        return cls({}, db)

    def blobs_of(self, digests: Iterable[str]) -> dict[str, dict[str, int]]:
        """Return the stored blob lists of the given artifacts."""
        found: dict[str, dict[str, int]] = {}
        for digest in digests:
            rows = self.db.execute(
                "SELECT r.blob, r.size FROM reference r JOIN artifact a ON a.id = r.artifact WHERE a.digest = ?", (digest,)
            )
            found[digest] = dict(rows.fetchall())
        return found

    def unshared_blobs(self, removed: set[str]) -> list[tuple[str, int]]:
        """Return the blobs that only the ``removed`` artifacts reference, with sizes, sorted."""
        freed: dict[str, int] = {}
        lists = self.blobs_of(removed)
        for blobs in lists.values():
            for blob, size in blobs.items():
                if blob in freed:
                    continue
                users = {digest for (digest,) in self.db.execute(
                    f"SELECT a.digest FROM reference r JOIN artifact a ON a.id = r.artifact WHERE r.kind IN {KIND_LIST} AND r.blob = ?",
                    (blob,),
                )}
                if users <= removed:
                    freed[blob] = size
        return sorted(freed.items())

    def stored_bytes(self, digests: Iterable[str]) -> int:
        """Return the bytes of the distinct blobs that the given artifacts reference."""
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (digest TEXT PRIMARY KEY) WITHOUT ROWID")
        self.db.execute("DELETE FROM temp.wanted")
        self.db.executemany("INSERT OR IGNORE INTO temp.wanted VALUES (?)", ((digest,) for digest in digests))
        rows = self.db.execute(
            "SELECT blob, size FROM reference WHERE artifact IN"
            " (SELECT a.id FROM artifact a JOIN temp.wanted w ON w.digest = a.digest)"
        )
        return sum(dict(rows.fetchall()).values())

    def kind_stored_bytes(self, kind: str) -> int:
        """Return the bytes of the distinct blobs that the artifacts of one kind reference."""
        (total,) = self.db.execute(
            "SELECT COALESCE(SUM(size), 0) FROM (SELECT DISTINCT blob, size FROM reference WHERE kind = ?)", (kind,)
        ).fetchone()
        return total

    def exclusive_bytes(self) -> dict[str, int]:
        """Return, per artifact, the bytes only it references: what deleting it alone would free."""
        rows = self.db.execute(
            "SELECT a.digest, SUM(r.size) FROM reference r JOIN artifact a ON a.id = r.artifact"
            " WHERE NOT EXISTS (SELECT 1 FROM reference o"
            f" WHERE o.kind IN {KIND_LIST} AND o.blob = r.blob AND o.artifact != r.artifact)"
            " GROUP BY a.id"
        )
        found = dict.fromkeys(self.entries, 0)
        found.update(rows.fetchall())
        return found


@contextlib.contextmanager
def editing_index(layout: Layout, timeout: float | None = None) -> Iterator[OpenIndex]:
    """Hold the index lock, yield the current index, and commit the changes if the block succeeds.

    The yielded index has no blob lists; an entry added to it must carry its
    own. Entries removed from ``entries`` are deleted, added ones inserted,
    and changed names, sizes, creation times or summaries updated.
    """
    with file_lock(layout.locks / "index.lock", timeout=timeout):
        if not layout.index.exists():
            _create(layout.index)
        db = _connect(layout.index)
        try:
            db.execute("BEGIN IMMEDIATE")
            index = OpenIndex.read(db, layout.index)
            before = {digest: _row_state(entry) for digest, entry in index.entries.items()}
            try:
                yield index
                _apply(db, before, index)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as error:
            if "full" in str(error):
                raise_if_no_space(OSError(28, str(error)), layout.index, 0)
            if "locked" in str(error):
                _database_error(layout.index, error)
            raise
        finally:
            db.close()


@contextlib.contextmanager
def reading_index(layout: Layout) -> Iterator[OpenIndex]:
    """Yield the index inside one read transaction, so queries such as a delete plan see one state.

    A store without an index yields an empty one, whose queries find nothing.
    """
    with _reading(layout.index) as db:
        index = OpenIndex.read(db, layout.index) if db else OpenIndex.empty()
        try:
            yield index
        finally:
            if db is None:
                index.db.close()


def _row_state(entry: Entry) -> tuple:
    # Summaries are flat objects of strings and numbers, so a shallow copy is a snapshot.
    return (entry.kind, entry.created, tuple(entry.names), entry.size, dict(entry.summary))


def _apply(db: sqlite3.Connection, before: dict[str, tuple], index: Index) -> None:
    for digest in before.keys() - index.entries.keys():
        _delete(db, digest)
    for digest, entry in index.entries.items():
        state = before.get(digest)
        if state is None:
            _insert(db, entry)
        elif state != _row_state(entry):
            db.execute(
                "UPDATE artifact SET kind = ?, created = ?, names = ?, size = ?, summary = ? WHERE digest = ?",
                (entry.kind, entry.created, _names_text(entry), entry.size, _summary_text(entry), digest),
            )
            if state[0] != entry.kind:
                db.execute("UPDATE reference SET kind = ? WHERE artifact = (SELECT id FROM artifact WHERE digest = ?)", (entry.kind, digest))


def _insert(db: sqlite3.Connection, entry: Entry) -> None:
    blobs = entry.blob_list()
    cursor = db.execute(
        "INSERT INTO artifact (digest, kind, created, names, size, summary) VALUES (?, ?, ?, ?, ?, ?)",
        (entry.digest, entry.kind, entry.created, _names_text(entry), entry.size, _summary_text(entry)),
    )
    db.executemany(
        "INSERT INTO reference (artifact, kind, blob, size) VALUES (?, ?, ?, ?)",
        [(cursor.lastrowid, entry.kind, blob, size) for blob, size in blobs.items()],
    )


def _delete(db: sqlite3.Connection, digest: str) -> None:
    db.execute("DELETE FROM reference WHERE artifact = (SELECT id FROM artifact WHERE digest = ?)", (digest,))
    db.execute("DELETE FROM artifact WHERE digest = ?", (digest,))


def _names_text(entry: Entry) -> str:
    return json.dumps(sorted(entry.names), separators=(",", ":"))


def _summary_text(entry: Entry) -> str:
    return json.dumps(entry.summary, sort_keys=True, separators=(",", ":"))


def save_index(layout: Layout, index: Index) -> None:
    """Replace the whole index with ``index``, whose entries must all carry blob lists.

    Call it with ``locks/index.lock`` held, or on a store no other process uses.
    """
    journal = layout.index.with_name(layout.index.name + "-journal")
    if journal.exists():
        # Opening rolls a crashed writer's transaction back, so its journal
        # cannot be applied to the new file that takes the old one's name.
        with contextlib.suppress(FileNotFoundError, CorruptStoreError, sqlite3.DatabaseError):
            _connect(layout.index).close()
        journal.unlink(missing_ok=True)
    _create(layout.index, index.entries.values())
