"""Names for legacy items: derived from their paths, made valid, and kept unique.

Every name is a function of the path an item was found at, so the same tree
gives the same names on every run:

* a Hugging Face folder ``models/<owner>/<name>/`` becomes ``<owner>/<name>``,
  a top-level folder (such as an OCI download) its folder name, and a GGUF
  file its file name without ``.gguf``;
* an accelerated-training checkpoint ``checkpoints/hf_format/<dir>`` becomes
  ``train-hf:<dir>``, and ``checkpoints/ggml-model-f16.gguf``
  ``train-simple:ggml-model-f16``;
* a phased-training checkpoint becomes ``phased-<run>-<phase>:<dir>``, where
  ``<run>`` is the first 8 characters of the journal's run id (the part is
  left out without a journal);
* a generate run ``datasets/<run>/`` becomes ``sdg-<run>-knowledge`` and
  ``sdg-<run>-skills``, or ``sdg-<run>-legacy`` for its ``train_*.jsonl``
  files when it has no mixed files. Files at the top of ``datasets/`` use the
  timestamp in their file names as ``<run>``.

A name without a tag gets ``:latest``. Characters that names do not allow
become ``-``.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..refs import MAX_NAME, full_name, split_name
from .items import Plan, Renamed

RUN_PREFIX_LENGTH = 8
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9._-]+")
_LEADING = re.compile(r"^[^A-Za-z0-9]+")
_TAG_LEADING = re.compile(r"^[^A-Za-z0-9_]+")
MAX_TAG = 128


def clean_component(text: str, fallback: str = "model") -> str:
    """Return ``text`` as one valid name component: allowed characters only, starting with a letter or digit."""
    cleaned = _LEADING.sub("", _NOT_ALLOWED.sub("-", text))
    return cleaned or fallback


def clean_tag(text: str) -> str:
    cleaned = _TAG_LEADING.sub("", _NOT_ALLOWED.sub("-", text))[:MAX_TAG]
    return cleaned or "latest"


def make_name(components: list[str], tag: str | None = None) -> str:
    """Join cleaned components with ``/`` and add the tag; return the full ``NAME:TAG``."""
    name = "/".join(clean_component(component) for component in components)[:MAX_NAME]
    return full_name(f"{name}:{clean_tag(tag)}" if tag else name)


def phased_name(run_id: str | None, phase: str, folder: str) -> str:
    prefix = f"phased-{clean_component(run_id[:RUN_PREFIX_LENGTH])}-{phase}" if run_id else f"phased-{phase}"
    return make_name([prefix], folder)


def with_suffix(name: str, number: int) -> str:
    """Return ``name`` with ``-<number>`` after its name part: ``train-hf:samples_1`` -> ``train-hf-2:samples_1``."""
    base, tag = split_name(name)
    return full_name(f"{base[: MAX_NAME - len(str(number)) - 1]}-{number}:{tag}")


class NameAllocator:
    """Hands out names unique within one kind, adding ``-2``, ``-3``, ... to a name that is taken.

    ``taken`` maps case-folded names to a description of what has them, for
    the report. Names are compared case-insensitively, as the store does.
    """

    def __init__(self, taken: dict[str, str] | None = None) -> None:
        self.taken = dict(taken or {})

    def allocate(self, planned: str, owner: str) -> tuple[str, str | None]:
        """Return the name to use and, when it differs from ``planned``, who had ``planned``."""
        holder = self.taken.get(planned.casefold())
        chosen = planned
        number = 2
        while chosen.casefold() in self.taken:
            chosen = with_suffix(planned, number)
            number += 1
        self.taken[chosen.casefold()] = owner
        return chosen, holder


def resolve_collisions(plan: Plan) -> Plan:
    """Give each model and dataset of the plan a name that no earlier item of its kind has.

    Items keep plan order, so the first of two folders that map to the same
    name (compared case-insensitively) keeps it and the next gets ``-2``.
    """
    for items in (plan.models, plan.datasets):
        allocator = NameAllocator()
        for position, item in enumerate(items):
            chosen, holder = allocator.allocate(item.name, str(item.source))
            if chosen != item.name:
                plan.renamed.append(Renamed(item.source, item.name, chosen, f"{holder} has the same name"))
                items[position] = replace(item, name=chosen)
    return plan
