"""The plan of a migration: each legacy item found, what it becomes, and what is left out.

Items refer to each other by the legacy path they were found at (``source``),
because nothing has a digest before it is imported. A checkpoint's ``base``
is the source of another model item, and a dataset's ``teacher`` the source
of a model item. An eval's ``model`` is the source of the model it measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..scan import SourceFile


@dataclass(frozen=True)
class ModelItem:
    """A model folder or GGUF file to import as one model artifact."""

    source: Path
    name: str
    # huggingface, gguf, oci, accelerated, simple or phased
    origin: str
    files: tuple[SourceFile, ...]
    phase: str | None = None
    step: int | None = None
    run: str | None = None
    base: Path | None = None
    dataset: Path | None = None
    # OCI model files are blobs of the OCI layout, which still lists them, so they are linked even in move mode.
    link_only: bool = False

    @property
    def basename(self) -> str:
        """Return the name evaluators record for this model: the last part of its path."""
        return self.source.name


@dataclass(frozen=True)
class DatasetItem:
    """The training files of one generate run and data type, to import as one dataset."""

    source: Path
    name: str
    dataset_type: str
    train: tuple[SourceFile, ...]
    test: tuple[SourceFile, ...] = ()
    recipes: tuple[SourceFile, ...] = ()
    teacher: Path | None = None
    # The teacher as text, when it is not a model of this migration.
    teacher_name: str | None = None

    @property
    def files(self) -> tuple[SourceFile, ...]:
        return tuple(sorted(self.train + self.test + self.recipes, key=lambda source: source.title))


@dataclass(frozen=True)
class EvalItem:
    """One score for one model, with the result files that back it."""

    source: Path
    # journal, mt_bench, mt_bench_branch or dk_bench
    origin: str
    metric: str
    score: float
    files: tuple[Path, ...]
    date: str | None = None
    # The name the evaluator gave the model: a path in the journal, a basename elsewhere.
    model_label: str = ""
    model: Path | None = None


@dataclass(frozen=True)
class Skipped:
    """A legacy path that is not imported, and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Renamed:
    """A name that was taken, and the one given instead."""

    source: Path
    planned: str
    chosen: str
    reason: str


@dataclass
class Plan:
    """Everything a migration found, in import order within each kind."""

    models: list[ModelItem] = field(default_factory=list)
    datasets: list[DatasetItem] = field(default_factory=list)
    evals: list[EvalItem] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    renamed: list[Renamed] = field(default_factory=list)
    # Lineage that could not be inferred, in sentences for the user.
    notes: list[str] = field(default_factory=list)

    def skip(self, path: Path, reason: str) -> None:
        self.skipped.append(Skipped(path, reason))
