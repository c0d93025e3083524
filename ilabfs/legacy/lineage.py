"""Inferring lineage from the legacy config and the phased-training journal.

InstructLab records lineage nowhere, so it is inferred from the current
values in the config and from where things lie:

* the student (base) model is ``train.model_path``, and the teacher of every
  generate run is ``generate.teacher.model_path``, when they point at a model
  of this migration (a relative value is taken below ``<cache>/models``, as
  ``ilab`` does). A teacher that is not such a model is recorded as text;
* accelerated-training checkpoints and the simple pipeline's GGUF have the
  student as base and the dataset whose file ``train.data_path`` names;
* phase 1 checkpoints have the student as base and the dataset of
  ``train.phased_phase1_data``. Phase 2 checkpoints have the dataset of
  ``train.phased_phase2_data`` and, as base, the phase 1 checkpoint with the
  most samples, because that is the one phased training continues from (the
  student when there is none);
* journal scores belong to the checkpoint at the full path they name.
  Results in ``eval_data`` belong to the one model whose folder or file name
  equals the basename the evaluator recorded. A basename that several models
  share, as ``samples_29008`` of two training runs does, links nothing.

NOTE: the config is read as it is now. Runs made with other settings
(another teacher, student or data file) get the current ones.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from .inputs import Journal, LegacyConfig, LegacyPaths
from .items import DatasetItem, EvalItem, ModelItem, Plan

STUDENT_ORIGINS = ("accelerated", "simple")


def infer_lineage(plan: Plan, paths: LegacyPaths, config: LegacyConfig | None, journal: Journal | None) -> Plan:
    """Return ``plan`` with base models, datasets, teachers and eval links filled in where they can be inferred."""
    if config is None:
        plan.notes.append(f"no legacy config at {paths.config_file}: checkpoints get no base model or dataset, datasets no teacher")
        config = LegacyConfig(paths.config_file, None, None, None, None, None, None)

    student = _model_at(plan, config.student, paths, "train.model_path", "checkpoints get no base model")
    if plan.datasets and config.teacher:
        teacher = _model_at(plan, config.teacher, paths, "generate.teacher.model_path", "datasets record the teacher by its file name")
        teacher_name = None if teacher else os.path.basename(config.teacher.rstrip("/"))
        plan.datasets = [replace(item, teacher=teacher.source if teacher else None, teacher_name=teacher_name) for item in plan.datasets]
    plan.models = _with_model_lineage(plan, config, student)
    plan.evals = _linked_evals(plan, journal)
    return plan


def _real(path: str | os.PathLike) -> str:
    return os.path.realpath(os.path.expanduser(path))


def _model_at(plan: Plan, value: str | None, paths: LegacyPaths, key: str, consequence: str) -> ModelItem | None:
    if not value:
        return None
    expanded = Path(os.path.expanduser(value))
    target = _real(expanded if expanded.is_absolute() else paths.models_dir / expanded)
    found = next((item for item in plan.models if _real(item.source) == target), None)
    if found is None and plan.models:
        plan.notes.append(f"{key} {value} is not a model found by this migration: {consequence}")
    return found


def _dataset_at(plan: Plan, value: str | None, key: str, consequence: str) -> DatasetItem | None:
    if not value:
        return None
    target = _real(value)
    found = next((item for item in plan.datasets if any(_real(source.path) == target for source in item.train)), None)
    if found is None:
        plan.notes.append(f"{key} {value} is not a training file of a dataset found by this migration: {consequence}")
    return found


def _with_model_lineage(plan: Plan, config: LegacyConfig, student: ModelItem | None) -> list[ModelItem]:
    has = {origin: any(item.origin == origin for item in plan.models) for origin in ("accelerated", "phased")}
    phase1 = [item for item in plan.models if item.phase == "phase1" and item.step is not None]
    phase1_final = max(phase1, key=lambda item: item.step, default=None)
    data = _dataset_at(plan, config.data_path, "train.data_path", "accelerated-training checkpoints get no dataset") if has["accelerated"] else None
    phase_data = {
        phase: _dataset_at(plan, value, f"train.phased_{phase}_data", f"{phase} checkpoints get no dataset") if has["phased"] else None
        for phase, value in (("phase1", config.phase1_data), ("phase2", config.phase2_data))
    }

    models = []
    for item in plan.models:
        base, dataset = None, None
        if item.origin in STUDENT_ORIGINS:
            base, dataset = student, data
        elif item.phase == "phase1":
            base, dataset = student, phase_data["phase1"]
        elif item.phase == "phase2":
            base, dataset = phase1_final or student, phase_data["phase2"]
        # A student that is itself one of the checkpoints must not become its own base.
        if base is not None and base.source == item.source:
            base = None
        models.append(replace(item, base=base.source if base else None, dataset=dataset.source if dataset else None))
    return models


def _linked_evals(plan: Plan, journal: Journal | None) -> list[EvalItem]:
    linked = []
    by_path = {_real(item.source): item for item in plan.models}
    for score in journal.scores if journal else ():
        model = by_path.get(_real(score.checkpoint))
        if model is None:
            plan.skip(journal.path, f"{score.metric} score {score.score:g} of {score.checkpoint}: no checkpoint was found at that path")
            continue
        linked.append(EvalItem(journal.path, "journal", score.metric, score.score, (journal.path,), score.date, score.checkpoint, model.source))

    by_basename: dict[str, list[ModelItem]] = {}
    for item in plan.models:
        by_basename.setdefault(item.basename, []).append(item)
    for item in plan.evals:
        matches = by_basename.get(item.model_label, [])
        if len(matches) == 1:
            linked.append(replace(item, model=matches[0].source))
        elif not matches:
            plan.skip(item.source, f"{item.metric} result of {item.model_label}: no model found by this migration has that name")
        else:
            names = ", ".join(match.name for match in matches)
            plan.skip(
                item.source,
                f"{item.metric} result of {item.model_label} is ambiguous: {len(matches)} models have that basename ({names}); "
                "add it by hand with 'ilab eval add MODEL-REF --file' and this file",
            )
    return linked
