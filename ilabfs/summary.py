"""The listing row the index keeps per artifact, derived from its config document.

Adding an artifact, checking the index and rebuilding it all derive the row
here, so the three can never disagree about what a row holds. Only an
eval's ``date`` lives in the index alone: it is not part of the content.
"""

from __future__ import annotations

from .manifest import Manifest

# Per kind: the config members copied into the summary under the same name.
_COPIED = {
    "model": ("dataType", "format", "base", "dataset", "phase", "step", "run"),
    "dataset": ("type", "phase", "samples", "teacher", "teacherName"),
    "eval": ("metric", "score"),
}
# Members that exist only in the index and are kept across a rebuild.
INDEX_ONLY = {"eval": ("date",)}


def derive_summary(kind: str, config: dict, file_count: int, subject: str | None = None) -> dict:
    """Return the summary row of an artifact of ``kind`` from its config document."""
    summary = {key: config[key] for key in _COPIED[kind] if config.get(key) is not None}
    if kind == "model":
        # A model always shows a data type and format column, even when unknown.
        summary.setdefault("dataType", config.get("dataType"))
        summary.setdefault("format", config.get("format"))
    if kind == "eval":
        summary["subject"] = subject or config.get("model")
    summary["files"] = file_count
    return summary


def summary_of(manifest: Manifest, config: dict, previous: dict | None = None) -> dict:
    """Return the summary for a stored manifest, keeping the index-only members of ``previous``."""
    summary = derive_summary(manifest.kind, config, len(manifest.layers), manifest.subject)
    for key in INDEX_ONLY.get(manifest.kind, ()):
        if previous and key in previous:
            summary[key] = previous[key]
    return summary
