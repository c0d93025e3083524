"""Lineage trees: a base model, the checkpoints trained from it, and their eval scores.

Built from the index alone. A parent that was deleted with ``--force``
stays in the tree as a missing node, identified by the digest its children
recorded.
"""

from __future__ import annotations

from collections import defaultdict

from .digest import format_digest, short_id
from .index import Entry, Index
from .refs import resolve


def _scores(index: Index) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = defaultdict(list)
    for entry in index.of_kind("eval"):
        summary = entry.summary
        found[summary.get("subject", "")].append(
            {"id": short_id(entry.digest), "metric": summary.get("metric"), "score": summary.get("score"), "date": summary.get("date") or entry.created}
        )
    return found


def _root_of(index: Index, entry: Entry) -> str:
    """Return the digest at the top of ``entry``'s base chain (possibly a missing one)."""
    seen = {entry.digest}
    digest = entry.digest
    while True:
        parent = index.entries[digest].summary.get("base")
        if not parent or parent in seen:
            return digest
        if parent not in index.entries:
            return parent
        seen.add(parent)
        digest = parent


def lineage(index: Index, ref: str) -> dict:
    """Return the tree that contains the model ``ref``, from its root base model down."""
    focus = resolve(index, "model", ref)
    children: dict[str, list[Entry]] = defaultdict(list)
    for entry in index.of_kind("model"):
        base = entry.summary.get("base")
        if base:
            children[base].append(entry)
    scores = _scores(index)

    def node(digest: str) -> dict:
        entry = index.entries.get(digest)
        summary = entry.summary if entry else {}
        return {
            "id": short_id(digest),
            "digest": format_digest(digest),
            "name": entry.names[0] if entry and entry.names else None,
            "missing": entry is None,
            "focus": digest == focus.digest,
            "phase": summary.get("phase"),
            "step": summary.get("step"),
            "run": summary.get("run"),
            "dataset": _dataset_label(index, summary.get("dataset")),
            "evals": scores.get(digest, []),
            "children": [],
        }

    # Built with an explicit stack: a chain of thousands of checkpoints must not hit Python's recursion limit.
    root = node(_root_of(index, focus))
    visited = {root["digest"]}
    stack = [root]
    while stack:
        parent = stack.pop()
        kids = sorted(children.get(parent["digest"].partition(":")[2], []), key=_child_order)
        for kid in kids:
            if format_digest(kid.digest) in visited:
                continue
            visited.add(format_digest(kid.digest))
            child = node(kid.digest)
            parent["children"].append(child)
            stack.append(child)
    return root


def _child_order(entry: Entry) -> tuple:
    return (str(entry.summary.get("phase") or ""), entry.summary.get("step") or 0, entry.created)


def _dataset_label(index: Index, digest: str | None) -> dict | None:
    if not digest:
        return None
    entry = index.entries.get(digest)
    return {"id": short_id(digest), "name": entry.names[0] if entry and entry.names else None, "missing": entry is None}
