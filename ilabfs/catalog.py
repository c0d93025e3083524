"""Listing and inspecting artifacts as plain, JSON-ready dictionaries.

Listings are built from the index alone. The row shape is the stable
``--json`` schema documented in docs/cli.md; new keys may be added, existing
ones keep their meaning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .digest import format_digest, short_id
from .errors import NotFoundError
from .index import Entry, Index, OpenIndex, reading_index
from .layout import Layout
from .refs import resolve
from .views import view_path

if TYPE_CHECKING:
    # Only for annotations: importing the store module at run time loads the hashing and ingest code.
    from .store import Store

LIST_SCHEMA_VERSION = 1


def link_to(index: Index, digest: str | None) -> dict | None:
    """Describe a lineage link: the digest, the target's first name, and whether it still exists."""
    if not digest:
        return None
    entry = index.entries.get(digest)
    return {
        "id": short_id(digest),
        "digest": format_digest(digest),
        "name": entry.names[0] if entry and entry.names else None,
        "missing": entry is None,
    }


def row(index: Index, entry: Entry, layout: Layout | None = None, exclusive: dict[str, int] | None = None) -> dict:
    summary = entry.summary
    result = {
        "id": short_id(entry.digest),
        "digest": format_digest(entry.digest),
        "kind": entry.kind,
        "name": entry.names[0] if entry.names else None,
        "names": sorted(entry.names),
        "created": entry.created,
        "size": entry.size,
        "files": summary.get("files"),
    }
    result.update(_KIND_FIELDS[entry.kind](index, summary))
    if exclusive is not None:
        result["exclusiveSize"] = exclusive.get(entry.digest, 0)
    if layout is not None:
        result["path"] = str(view_path(layout, entry.kind, entry.digest))
    return result


def _model_fields(index: Index, summary: dict) -> dict:
    return {
        "dataType": summary.get("dataType"),
        "format": summary.get("format"),
        "baseModel": link_to(index, summary.get("base")),
        "dataset": link_to(index, summary.get("dataset")),
        "phase": summary.get("phase"),
        "step": summary.get("step"),
        "run": summary.get("run"),
    }


def _dataset_fields(index: Index, summary: dict) -> dict:
    teacher = link_to(index, summary.get("teacher"))
    if teacher is None and summary.get("teacherName"):
        teacher = {"id": None, "digest": None, "name": summary["teacherName"], "missing": False}
    return {
        "type": summary.get("type"),
        "phase": summary.get("phase"),
        "samples": summary.get("samples"),
        "teacher": teacher,
    }


def _eval_fields(index: Index, summary: dict) -> dict:
    model = index.entries.get(summary.get("subject", ""))
    return {
        "metric": summary.get("metric"),
        "score": summary.get("score"),
        "model": link_to(index, summary.get("subject")),
        "baseModel": link_to(index, model.summary.get("base")) if model else None,
        "date": summary.get("date"),
    }


_KIND_FIELDS = {"model": _model_fields, "dataset": _dataset_fields, "eval": _eval_fields}


def _base_digest(index: Index, ref: str) -> str:
    """Resolve a --base filter; a prefix of a deleted base still finds its orphaned checkpoints."""
    try:
        return resolve(index, "model", ref).digest
    except NotFoundError:
        prefix = ref.removeprefix("blake3:").lower()
        recorded = {entry.summary.get("base") for entry in index.entries.values()} - {None}
        matches = sorted(digest for digest in recorded if len(prefix) >= 4 and digest.startswith(prefix) and digest not in index.entries)
        if len(matches) == 1:
            return matches[0]
        raise


def list_artifacts(
    store: Store,
    kind: str,
    *,
    base: str | None = None,
    phase: str | None = None,
    run: str | None = None,
    dataset_type: str | None = None,
    model: str | None = None,
    metric: str | None = None,
    wide: bool = False,
) -> dict:
    """Return ``{"schemaVersion", "artifacts": [rows], "total": {...}}`` for one kind, newest first.

    Filters that are None match everything; refs are resolved first, so an
    unknown ref is an error rather than an empty list.
    """
    with reading_index(store.layout) as index:
        return _list(store, index, kind, base, phase, run, dataset_type, model, metric, wide)


def _list(store: Store, index: OpenIndex, kind: str, base, phase, run, dataset_type, model, metric, wide: bool) -> dict:
    base_digest = _base_digest(index, base) if base else None
    model_digest = resolve(index, "model", model).digest if model else None
    wanted = {
        "base": base_digest,
        "run": run,
        "type": dataset_type,
        "subject": model_digest,
    }
    of_kind = index.of_kind(kind)
    entries = [
        entry
        for entry in of_kind
        if all(value is None or entry.summary.get(key) == value for key, value in wanted.items())
        and (phase is None or str(entry.summary.get("phase", "")).casefold() == phase.casefold())
        and (metric is None or str(entry.summary.get("metric", "")).casefold() == metric.casefold())
    ]
    entries.sort(key=lambda entry: (entry.created, entry.digest), reverse=True)
    exclusive = index.exclusive_bytes() if wide else None
    rows = [row(index, entry, store.layout if wide else None, exclusive) for entry in entries]
    total = {
        "count": len(rows),
        "logicalSize": sum(entry.size for entry in entries),
        # The bytes of a whole kind are one index scan; a filtered list sums its own blobs.
        "storedSize": index.stored_bytes(entry.digest for entry in entries) if len(entries) != len(of_kind) else index.kind_stored_bytes(kind),
    }
    return {"schemaVersion": LIST_SCHEMA_VERSION, "artifacts": rows, "total": total}


def inspect_artifact(store: Store, kind: str, ref: str) -> dict:
    """Return everything known about one artifact, reading its manifest and config."""
    with reading_index(store.layout) as index:
        entry = resolve(index, kind, ref)
        exclusive = {entry.digest: sum(size for _, size in index.unshared_blobs({entry.digest}))}
    manifest = store.read_manifest(entry.digest)
    config = store.read_config(manifest)
    details = row(index, entry, store.layout, exclusive)
    details["manifest"] = manifest.document
    details["config"] = config
    details["fileList"] = [
        {"path": layer.title, "digest": format_digest(layer.digest), "size": layer.size, "mediaType": layer.media_type}
        for layer in manifest.layers
    ]
    details["subject"] = link_to(index, manifest.subject)
    details["dependents"] = [
        {"id": short_id(other.digest), "kind": other.kind, "name": other.names[0] if other.names else None}
        for other in index.entries.values()
        if entry.digest in (other.summary.get("base"), other.summary.get("dataset"), other.summary.get("subject"))
    ]
    return details
