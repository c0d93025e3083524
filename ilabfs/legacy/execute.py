"""Importing a migration plan into the store.

Each item is one ordinary add (add_model, add_dataset or add_eval), so it is
all-or-nothing like any other add. Items are imported after the items they
refer to, so lineage is recorded as digests: models and datasets before the
checkpoints trained from them, every model before the evals that measured it.

Models and datasets go in by hardlink (``link``, which tries a reflink first)
or ``move``. An OCI model is always linked, because its OCI layout still
lists the blobs. Eval result files are small and are copied.

An item whose files the store already contains (see present.py) is left
alone and reported as present, and its names are not changed. A new item's name is
the planned one unless the store gives it to another artifact, in which
case ``-2``, ``-3``, ... is added and the change is reported. Names are never
moved from another artifact.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

from ..datasets import add_dataset
from ..digest import format_digest, short_id
from ..errors import AlreadyExistsError, DigestMismatchError, IlabfsError, InvalidInputError, NotFoundError
from ..evals import add_eval
from ..index import Entry, Index
from ..models import add_model
from ..store import AddResult, Store
from .inputs import LegacyPaths
from .items import DatasetItem, EvalItem, ModelItem, Plan, Renamed, Skipped
from .naming import NameAllocator
from .present import find_stored_eval, find_stored_files
from .report import FAILED, IMPORTED, PLANNED, PRESENT, Outcome, Report

MODES = ("link", "move")
# Errors that concern one item's files; anything else (a locked or corrupt store, a full disk) stops the migration.
ITEM_ERRORS = (InvalidInputError, NotFoundError, AlreadyExistsError, DigestMismatchError)
_FATAL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_OS_ERROR_EXIT = 14


def execute(store: Store | None, plan: Plan, paths: LegacyPaths, *, mode: str = "link", dry_run: bool = False) -> Report:
    """Import ``plan`` into ``store``, or with ``dry_run`` only decide what would be imported.

    ``store`` may be None for a dry run against a store that does not exist yet.
    """
    if mode not in MODES:
        raise InvalidInputError(f"invalid mode {mode!r}", hint="use link or move", mode=mode)
    if store is None and not dry_run:
        raise ValueError("a store is needed unless dry_run is set")

    report = Report(paths, mode, dry_run, skipped=list(plan.skipped), notes=list(plan.notes))
    migration = _Migration(store, mode, dry_run, report, plan.renamed)
    for item in _dependency_order(plan.models, plan.datasets):
        if isinstance(item, ModelItem):
            migration.import_model(item)
        else:
            migration.import_dataset(item)
    for item in plan.evals:
        migration.import_eval(item)
    return migration.report


def _dependency_order(models: list[ModelItem], datasets: list[DatasetItem]) -> list[ModelItem | DatasetItem]:
    """Return models and datasets so that each comes after the items it refers to, otherwise in plan order."""
    pending: list[ModelItem | DatasetItem] = [*models, *datasets]
    ordered: list[ModelItem | DatasetItem] = []
    while pending:
        waiting = {item.source for item in pending}
        ready = [item for item in pending if not (_references(item) & waiting)]
        # A reference cycle cannot come from inference, but must not loop forever either.
        ready = ready or pending
        ordered.extend(ready)
        pending = [item for item in pending if item not in ready]
    return ordered


def _references(item: ModelItem | DatasetItem) -> set[Path]:
    found = {item.base, item.dataset} if isinstance(item, ModelItem) else {item.teacher}
    return {path for path in found if path is not None}


class _Migration:
    """The state of one run: the index as it grows, the names handed out, and the digest of each item."""

    def __init__(self, store: Store | None, mode: str, dry_run: bool, report: Report, renamed: list[Renamed]) -> None:
        self.store = store
        self.mode = mode
        self.dry_run = dry_run
        self.report = report
        # Renames made within the plan, reported only for items that get named in this run.
        self.plan_renames = {rename.source: rename for rename in renamed}
        self.index = store.index() if store else Index()
        self.allocators = {
            kind: NameAllocator({name: f"{short_id(digest)} in the store" for name, digest in self.index.name_map(kind).items()})
            for kind in ("model", "dataset")
        }
        self.digests: dict[Path, str] = {}
        self.labels: dict[Path, str] = {}
        self.failed: set[Path] = set()

    # -- items --------------------------------------------------------------

    def import_model(self, item: ModelItem) -> None:
        warnings: list[str] = []
        base, base_label = self._link(item.base, "base model", warnings)
        dataset, dataset_label = self._link(item.dataset, "dataset", warnings)
        details = {"baseModel": base_label, "dataset": dataset_label, "phase": item.phase, "step": item.step, "run": item.run}
        mode = "link" if item.link_only else self.mode

        def add(name: str) -> AddResult:
            return add_model(
                self.store, item.source, name, mode=mode, base=_ref(base), dataset=_ref(dataset),
                phase=item.phase, step=item.step, run=item.run, sources=list(item.files),
            )

        self._import_files("model", item, item.origin, details, warnings, add)

    def import_dataset(self, item: DatasetItem) -> None:
        warnings: list[str] = []
        teacher, teacher_label = self._link(item.teacher, "teacher", warnings)
        if item.teacher is not None and teacher_label is None:
            teacher_label = item.teacher.name
        teacher_label = teacher_label or item.teacher_name
        details = {"type": item.dataset_type, "teacher": teacher_label, "samples": None}

        def add(name: str) -> AddResult:
            return add_dataset(
                self.store, [source.path for source in item.train + item.recipes], name, dataset_type=item.dataset_type,
                teacher=_ref(teacher) or teacher_label, test=[source.path for source in item.test], mode=self.mode,
            )

        self._import_files("dataset", item, "sdg", details, warnings, add)

    def import_eval(self, item: EvalItem) -> None:
        model, model_label = self.digests.get(item.model), self.labels.get(item.model)
        details = {"metric": item.metric, "score": item.score, "model": model_label, "modelLabel": item.model_label, "date": item.date}
        outcome = Outcome("eval", PLANNED, item.source, item.origin, details=details)
        if model is None and not (self.dry_run and model_label):
            self.report.skipped.append(Skipped(item.source, f"{item.metric} score of {item.model_label}: its model was not imported"))
            return

        stored = find_stored_eval(self.index, model, item.metric, item.score) if model else None
        if stored is not None:
            outcome.status, outcome.digest = PRESENT, stored.digest
        elif not self.dry_run:
            try:
                result = add_eval(self.store, format_digest(model), metric=item.metric, score=item.score, files=list(item.files), date=item.date)
            except (*ITEM_ERRORS, OSError) as error:
                self._fail(outcome, error)
                return
            self._count(result)
            self.index = self.store.index()
            outcome.status, outcome.digest = IMPORTED if result.new else PRESENT, result.digest
        self.report.outcomes.append(outcome)

    # -- shared steps -------------------------------------------------------

    def _import_files(self, kind: str, item: ModelItem | DatasetItem, origin: str, details: dict, warnings: list[str], add: Callable[[str], AddResult]) -> Outcome:
        outcome = Outcome(kind, PLANNED, item.source, origin, details=details, warnings=warnings)
        try:
            stored = find_stored_files(self.store, self.index, kind, item.files)
            if stored is not None:
                return self._record(outcome, item, PRESENT, stored)

            outcome.name = self._allocate(kind, item)
            if self.dry_run:
                outcome.names = [outcome.name]
                return self._record(outcome, item, PLANNED, None)

            result = add(outcome.name)
        except (*ITEM_ERRORS, OSError) as error:
            self._fail(outcome, error)
            return outcome

        self._count(result)
        self.index = self.store.index()
        return self._record(outcome, item, IMPORTED if result.new else PRESENT, self.index.entries[result.digest])

    def _record(self, outcome: Outcome, item: ModelItem | DatasetItem, status: str, entry: Entry | None) -> Outcome:
        outcome.status = status
        if entry is not None:
            outcome.digest = entry.digest
            outcome.names = list(entry.names)
            if outcome.name not in entry.names:
                outcome.name = entry.names[0] if entry.names else None
            outcome.details.update(self._stored_details(entry))
            self.digests[item.source] = entry.digest
        self.labels[item.source] = outcome.name or short_id(outcome.digest or "")
        self.report.outcomes.append(outcome)
        return outcome

    def _stored_details(self, entry: Entry) -> dict:
        """Return the lineage the store records for ``entry``, which for a present item may differ from the inferred one."""
        summary = entry.summary
        if entry.kind == "dataset":
            teacher = self._entry_label(summary.get("teacher")) or summary.get("teacherName")
            return {"type": summary.get("type"), "teacher": teacher, "samples": summary.get("samples")}
        return {
            "baseModel": self._entry_label(summary.get("base")),
            "dataset": self._entry_label(summary.get("dataset")),
            "phase": summary.get("phase"),
            "step": summary.get("step"),
            "run": summary.get("run"),
        }

    def _entry_label(self, digest: str | None) -> str | None:
        if not digest:
            return None
        entry = self.index.entries.get(digest)
        return entry.names[0] if entry is not None and entry.names else short_id(digest)

    def _allocate(self, kind: str, item: ModelItem | DatasetItem) -> str:
        if item.source in self.plan_renames:
            self.report.renamed.append(self.plan_renames[item.source])
        chosen, holder = self.allocators[kind].allocate(item.name, str(item.source))
        if chosen != item.name:
            self.report.renamed.append(Renamed(item.source, item.name, chosen, f"{item.name} is taken by {holder}"))
        return chosen

    def _link(self, source: Path | None, role: str, warnings: list[str]) -> tuple[str | None, str | None]:
        """Return the digest and label of a referenced item; warn when it was not imported."""
        if source is None:
            return None, None
        if source in self.failed:
            warnings.append(f"recorded without its {role} {source}, which failed to import")
            return None, None
        return self.digests.get(source), self.labels.get(source)

    def _fail(self, outcome: Outcome, error: Exception) -> None:
        if isinstance(error, OSError) and error.errno in _FATAL_ERRNOS:
            raise error
        outcome.status = FAILED
        outcome.error = str(error) if isinstance(error, IlabfsError) else f"{error.strerror or error}: {error.filename or outcome.source}"
        outcome.exit_code = error.exit_code if isinstance(error, IlabfsError) else _OS_ERROR_EXIT
        self.failed.add(outcome.source)
        self.report.outcomes.append(outcome)

    def _count(self, result: AddResult) -> None:
        self.report.bytes_read += result.stats.bytes_read
        self.report.bytes_written += result.stats.bytes_written


def _ref(digest: str | None) -> str | None:
    return format_digest(digest) if digest else None
