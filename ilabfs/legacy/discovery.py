"""Finding what InstructLab left in its cache and data folders, without changing anything.

discover() walks ``models/`` of the cache folder and ``datasets/``,
``checkpoints/``, ``phased/`` and ``internal/eval_data/`` of the data folder
and returns a Plan of typed items. It reads file names, symlink targets and
the first bytes of GGUF files, never the store. Anything it does not import
becomes a Skipped entry with the reason. Other parts of the data folder
(``taxonomy/``, ``chatlogs/``, the store itself) are not looked at.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..datasets import TYPES
from ..errors import InvalidInputError
from ..scan import SourceFile
from .evaldata import discover_evals
from .files import HF_METADATA, has_gguf_magic, oci_blob_root, scan_model_folder, scan_single_file
from .inputs import JOURNAL_NAME, LegacyPaths
from .items import DatasetItem, ModelItem, Plan
from .naming import make_name, phased_name

PHASES = ("phase1", "phase2")
SIMPLE_GGUF = "ggml-model-f16.gguf"
_RUN_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}_\d{6}$")
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}_\d{2}_\d{2}")
_MIXED = re.compile(r"^(knowledge|skills)_train_msgs_.*\.jsonl$")
_RECIPE = re.compile(r"^(knowledge|skills)_recipe_.*\.ya?ml$")
_LEGACY_SPLIT = re.compile(r"^(train|test)_.*\.jsonl$")
_INTERMEDIATE = re.compile(r"^(messages_.*\.jsonl|(preprocessed|generated|node_datasets)_.*)$")
_STEP = re.compile(r"^samples_(\d+)$")


def discover(paths: LegacyPaths, run_id: str | None) -> Plan:
    """Walk the legacy folders and return what they contain; ``run_id`` names the phased checkpoints."""
    plan = Plan()
    _discover_models(paths, plan)
    _discover_datasets(paths.data_dir / "datasets", plan)
    _discover_accelerated(paths.data_dir / "checkpoints", plan)
    _discover_phased(paths.data_dir / "phased", run_id, plan)
    discover_evals(paths.data_dir / "internal" / "eval_data", plan)
    return plan


def _entries(folder: Path) -> list[os.DirEntry]:
    if not folder.is_dir():
        return []
    with os.scandir(folder) as scanned:
        return sorted(scanned, key=lambda entry: entry.name)


# -- downloaded models --------------------------------------------------------


def _discover_models(paths: LegacyPaths, plan: Plan) -> None:
    for entry in _entries(paths.models_dir):
        path = Path(entry.path)
        if entry.name == HF_METADATA:
            plan.skip(path, "huggingface_hub download metadata, not a model")
        elif entry.is_symlink():
            plan.skip(path, "a symlink; add its target with ilab model add")
        elif entry.is_dir():
            _discover_model_or_owner(path, paths, plan)
        elif entry.name.endswith(".gguf"):
            _add_gguf(path, make_name([entry.name.removesuffix(".gguf")]), "gguf", plan)
        else:
            plan.skip(path, "not a GGUF file or a model folder")


def _discover_model_or_owner(folder: Path, paths: LegacyPaths, plan: Plan) -> None:
    # A Hugging Face download is <owner>/<name>/; a folder with files of its own is a model itself.
    entries = [entry for entry in _entries(folder) if entry.name != HF_METADATA]
    if any(not entry.is_dir(follow_symlinks=False) for entry in entries) or not entries:
        _add_model_folder(folder, [folder.name], paths, plan)
        return
    for entry in entries:
        _add_model_folder(Path(entry.path), [folder.name, entry.name], paths, plan)


def _add_model_folder(folder: Path, components: list[str], paths: LegacyPaths, plan: Plan) -> None:
    link_root = oci_blob_root(paths.oci_dir, folder)
    try:
        files = scan_model_folder(folder, link_root)
    except InvalidInputError as error:
        plan.skip(folder, str(error))
        return
    oci = any(source.path.is_symlink() for source in files)
    plan.models.append(ModelItem(folder, make_name(components), "oci" if oci else "huggingface", tuple(files), link_only=oci))


def _add_gguf(path: Path, name: str, origin: str, plan: Plan) -> None:
    try:
        source = scan_single_file(path)
    except InvalidInputError as error:
        plan.skip(path, str(error))
        return
    if not has_gguf_magic(path):
        plan.skip(path, "does not start with the GGUF magic bytes, so it is not a GGUF model")
        return
    plan.models.append(ModelItem(path, name, origin, (source,)))


# -- generated datasets -------------------------------------------------------


def _discover_datasets(folder: Path, plan: Plan) -> None:
    top_files = []
    for entry in _entries(folder):
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False) and _RUN_FOLDER.match(entry.name):
            _discover_generate_run(path, plan)
        elif entry.is_dir(follow_symlinks=False) and entry.name == "checkpoints":
            plan.skip(path, "SDG batch checkpoints: intermediate data that every generate run shares")
        elif _INTERMEDIATE.match(entry.name):
            plan.skip(path, "intermediate SDG output, not training data")
        elif entry.is_file(follow_symlinks=False):
            top_files.append(path)
        else:
            plan.skip(path, "not an 'ilab data generate' output folder (named like 2025-01-14_100211)")
    _discover_top_level_runs(folder, top_files, plan)


def _discover_generate_run(folder: Path, plan: Plan) -> None:
    files = {entry.name: Path(entry.path) for entry in _entries(folder) if entry.is_file(follow_symlinks=False)}
    used: set[str] = set()
    for dataset_type in TYPES:
        train = [name for name in files if _MIXED.match(name) and name.startswith(f"{dataset_type}_")]
        recipes = [name for name in files if _RECIPE.match(name) and name.startswith(f"{dataset_type}_")]
        if train:
            used.update(train + recipes)
            name = make_name([f"sdg-{folder.name}-{dataset_type}"])
            plan.datasets.append(DatasetItem(files[train[0]], name, dataset_type, _sources(files, train), recipes=_sources(files, recipes)))

    # Runs older than the mixed format have one train/test pair of system/user/assistant rows. A run
    # with node_datasets_* is newer: its train/test files only copy mixed data that a move took away.
    newer = any(entry.name.startswith("node_datasets_") for entry in _entries(folder))
    if not used and not newer:
        train = [name for name in files if _LEGACY_SPLIT.match(name) and name.startswith("train_")]
        test = [name for name in files if _LEGACY_SPLIT.match(name) and name.startswith("test_")]
        if train:
            used.update(train + test)
            name = make_name([f"sdg-{folder.name}-legacy"])
            plan.datasets.append(DatasetItem(files[train[0]], name, "skills", _sources(files, train), test=_sources(files, test)))

    if not used:
        reason = "no knowledge_train_msgs_* or skills_train_msgs_* file"
        plan.skip(folder, reason if newer else f"{reason}, and no train_*.jsonl file")
        return
    left = sorted(entry.name + ("/" if entry.is_dir(follow_symlinks=False) else "") for entry in _entries(folder) if entry.name not in used)
    if left:
        plan.skip(folder, f"intermediate files not stored: {', '.join(left)}")


def _discover_top_level_runs(folder: Path, paths: list[Path], plan: Plan) -> None:
    """Group the files that runs before InstructLab 0.23 wrote at the top of ``datasets/`` by their timestamp."""
    groups: dict[tuple[str, str], dict[str, list[str]]] = {}
    for path in paths:
        stamp = _STAMP.search(path.name)
        role = _top_level_role(path.name)
        if stamp is None or role is None:
            plan.skip(path, "not a training data file of a generate run")
            continue
        dataset_type, split = role
        groups.setdefault((stamp.group(), dataset_type), {}).setdefault(split, []).append(path.name)

    files = {path.name: path for path in paths}
    mixed_stamps = {stamp for (stamp, dataset_type) in groups if dataset_type in TYPES}
    for (stamp, dataset_type), roles in sorted(groups.items()):
        if dataset_type == "legacy" and stamp in mixed_stamps:
            for name in roles.get("train", []) + roles.get("test", []):
                plan.skip(folder / name, "older-format copy of the run's mixed training data")
            continue
        if not roles.get("train"):
            for name in roles.get("recipes", []) + roles.get("test", []):
                plan.skip(folder / name, "no training file of the same run and type")
            continue
        name = make_name([f"sdg-{stamp}-{dataset_type}"])
        train, test, recipes = (_sources(files, roles.get(split, [])) for split in ("train", "test", "recipes"))
        plan.datasets.append(DatasetItem(train[0].path, name, "skills" if dataset_type == "legacy" else dataset_type, train, test=test, recipes=recipes))


def _top_level_role(name: str) -> tuple[str, str] | None:
    """Return (dataset type or ``legacy``, split) for a data file name, or None for other files."""
    if _MIXED.match(name):
        return name.split("_", 1)[0], "train"
    if _RECIPE.match(name):
        return name.split("_", 1)[0], "recipes"
    if _LEGACY_SPLIT.match(name):
        return "legacy", name.split("_", 1)[0]
    return None


def _sources(files: dict[str, Path], names: list[str]) -> tuple[SourceFile, ...]:
    return tuple(SourceFile(name, files[name], files[name].stat().st_size) for name in sorted(names))


# -- checkpoints --------------------------------------------------------------


def _discover_accelerated(folder: Path, plan: Plan) -> None:
    for entry in _entries(folder):
        path = Path(entry.path)
        if entry.name == "hf_format" and entry.is_dir(follow_symlinks=False):
            for checkpoint in _checkpoint_folders(path, plan):
                _add_checkpoint(checkpoint, make_name(["train-hf"], checkpoint.name), "accelerated", plan)
        elif entry.name == "full_state":
            plan.skip(path, "accelerate resume state (optimizer and random states), not a model")
        elif entry.name == SIMPLE_GGUF and entry.is_file(follow_symlinks=False):
            _add_gguf(path, make_name(["train-simple"], SIMPLE_GGUF.removesuffix(".gguf")), "simple", plan)
        else:
            plan.skip(path, "not a training checkpoint")


def _discover_phased(folder: Path, run_id: str | None, plan: Plan) -> None:
    for entry in _entries(folder):
        path = Path(entry.path)
        if entry.name == JOURNAL_NAME:
            continue
        if entry.name not in PHASES or not entry.is_dir(follow_symlinks=False):
            plan.skip(path, "not part of a phased training run")
            continue
        for part in _entries(path):
            part_path = Path(part.path)
            if part.name == "checkpoints" and part.is_dir(follow_symlinks=False):
                _discover_phase_checkpoints(part_path, entry.name, run_id, plan)
            elif part.name == "eval_cache":
                plan.skip(part_path, "evaluator cache of phased training; the journal's scores are imported instead")
            else:
                plan.skip(part_path, "not part of a phased training run")


def _discover_phase_checkpoints(folder: Path, phase: str, run_id: str | None, plan: Plan) -> None:
    for entry in _entries(folder):
        path = Path(entry.path)
        if entry.name == "hf_format" and entry.is_dir(follow_symlinks=False):
            for checkpoint in _checkpoint_folders(path, plan):
                _add_checkpoint(checkpoint, phased_name(run_id, phase, checkpoint.name), "phased", plan, phase=phase, run=run_id)
        elif entry.name == "full_state":
            plan.skip(path, "accelerate resume state (optimizer and random states), not a model")
        else:
            plan.skip(path, "not a training checkpoint")


def _checkpoint_folders(hf_format: Path, plan: Plan) -> list[Path]:
    """Return the checkpoint folders in training order: by samples seen, then by name."""
    folders = []
    for entry in _entries(hf_format):
        if entry.is_dir(follow_symlinks=False):
            folders.append(Path(entry.path))
        else:
            plan.skip(Path(entry.path), "not a checkpoint folder")
    return sorted(folders, key=lambda path: (step_of(path.name) is None, step_of(path.name) or 0, path.name))


def step_of(folder_name: str) -> int | None:
    """Return N of a ``samples_N`` checkpoint folder, or None for others such as ``last_epoch``."""
    match = _STEP.match(folder_name)
    return int(match.group(1)) if match else None


def _add_checkpoint(folder: Path, name: str, origin: str, plan: Plan, phase: str | None = None, run: str | None = None) -> None:
    try:
        files = scan_model_folder(folder)
    except InvalidInputError as error:
        plan.skip(folder, str(error))
        return
    plan.models.append(ModelItem(folder, name, origin, tuple(files), phase=phase, step=step_of(folder.name), run=run))
