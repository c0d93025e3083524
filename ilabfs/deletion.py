"""Deleting artifacts: plan first, then execute, so a dry run costs nothing.

A ref that is a name removes that name; the artifact itself goes when its
last name goes. A ref that is a digest or a digest prefix removes the
artifact with all its names. Blobs that no remaining artifact references are
reclaimed through the same locked sweep that gc uses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from . import gc
from .digest import short_id
from .errors import DependencyError, LockedError
from .index import OpenIndex, Entry, Index, editing_index, reading_index
from .refs import full_name, resolve
from .store import Store
from .views import remove_views

log = logging.getLogger(__name__)

# Summary fields through which one artifact depends on another.
DEPENDENCY_FIELDS = {"base": "base model of", "dataset": "dataset of", "subject": "evaluated by"}


@dataclass(frozen=True)
class Dependent:
    """An artifact that names a deleted one as its base, dataset or subject."""

    target: str
    dependent: Entry
    relation: str


@dataclass(frozen=True)
class DeletePlan:
    """A planned delete: the names and whole artifacts it removes, and the blobs only they used."""

    kind: str
    untag: tuple[tuple[str, str], ...]  # (digest, name) pairs whose artifact stays
    remove: tuple[Entry, ...]
    blobs: tuple[tuple[str, int], ...]
    dependents: tuple[Dependent, ...]

    @property
    def bytes_freed(self) -> int:
        return sum(size for _, size in self.blobs)


def dependents_of(index: Index, digests: set[str]) -> list[Dependent]:
    found = []
    for entry in index.entries.values():
        if entry.digest in digests:
            continue
        for key, relation in DEPENDENCY_FIELDS.items():
            target = entry.summary.get(key)
            if target in digests:
                found.append(Dependent(target, entry, relation))
    return found


def plan_delete(index: OpenIndex, kind: str, refs: list[str], force: bool = False) -> DeletePlan:
    """Plan the delete of ``refs``; raise DependencyError when others depend on a target."""
    untag: dict[str, set[str]] = {}
    remove: dict[str, Entry] = {}
    for ref in refs:
        entry = resolve(index, kind, ref)
        name = _name_in_ref(ref, entry)
        if name is None:
            remove[entry.digest] = entry
        else:
            untag.setdefault(entry.digest, set()).add(name.casefold())

    for digest, names in untag.items():
        entry = index.entries[digest]
        if digest not in remove and all(n.casefold() in names for n in entry.names):
            remove[digest] = entry
    pairs = tuple(
        (digest, name)
        for digest, names in sorted(untag.items())
        if digest not in remove
        for name in index.entries[digest].names
        if name.casefold() in names
    )

    dependents = dependents_of(index, set(remove))
    if dependents and not force:
        raise _dependency_error(dependents)
    return DeletePlan(kind, pairs, tuple(remove.values()), tuple(index.unshared_blobs(set(remove))), tuple(dependents))


def _name_in_ref(ref: str, entry: Entry) -> str | None:
    """Return the ``name:tag`` a ref spells when it is a name, or None for digests and prefixes."""
    if "@" in ref:
        return None
    try:
        name = full_name(ref)
    except Exception:  # noqa: BLE001 - anything that is not a valid name is a digest form
        return None
    folded = name.casefold()
    return next((n for n in entry.names if n.casefold() == folded), None)


def describe_dependent(dependent: Dependent) -> str:
    """Return a phrase such as ``model 3f2a1b0c9d8e (ft:s100) was trained from 9eb5...``."""
    entry = dependent.dependent
    label = f"{entry.kind} {short_id(entry.digest)} ({_label(entry)})"
    if entry.kind == "eval":
        label = f"eval {short_id(entry.digest)} ({entry.summary.get('metric')})"
    verb = {"base model of": "was trained from", "dataset of": "was trained with", "evaluated by": "measures"}[dependent.relation]
    return f"{label} {verb} {short_id(dependent.target)}"


def _dependency_error(dependents: list[Dependent]) -> DependencyError:
    lines = [describe_dependent(d) for d in dependents]
    return DependencyError(
        "cannot delete: other artifacts depend on it: " + "; ".join(lines),
        hint="delete those first, or pass --force to keep them with a missing parent",
        dependents=[d.dependent.digest for d in dependents],
    )


def _label(entry: Entry) -> str:
    return entry.names[0] if entry.names else "<none>"


def preview_delete(store: Store, kind: str, refs: list[str], force: bool = False) -> DeletePlan:
    """Plan a delete without changing anything, as ``--dry-run`` shows it."""
    with reading_index(store.layout) as index:
        return plan_delete(index, kind, refs, force)


def execute_delete(store: Store, kind: str, refs: list[str], force: bool = False) -> tuple[DeletePlan, int | None]:
    """Re-plan under the index lock, apply the plan, then reclaim its blobs; return the plan and bytes freed.

    The bytes freed are None when the gc lock stayed busy: the artifacts are
    deleted and their blobs wait for the next gc.
    """
    gc.clean_staging(store.layout)
    with editing_index(store.layout) as index:
        plan = plan_delete(index, kind, refs, force)
        for digest, name in plan.untag:
            entry = index.entries[digest]
            entry.names = [n for n in entry.names if n != name]
        for entry in plan.remove:
            del index.entries[entry.digest]
    remove_views(store.layout, kind, [entry.digest for entry in plan.remove])
    if not plan.blobs:
        return plan, 0
    try:
        _, freed = gc.collect(store.layout, only={blob for blob, _ in plan.blobs})
    except LockedError as error:
        # The delete itself is committed. Only reclaiming waits, and any later gc does it.
        log.warning("deleted, but left its blobs for ilab gc to reclaim: %s", error.message)
        return plan, None
    return plan, freed
