"""Dataset artifacts: choosing the real training files and adding them.

An ``ilab data generate`` run writes a dated folder full of intermediate
files. Of those, a dataset keeps only what a trainer reads: the mixed
``knowledge_train_msgs_*.jsonl`` or ``skills_train_msgs_*.jsonl`` and the
recipe that produced it, or, for runs older than the mixed format, the
``train_*.jsonl`` / ``test_*.jsonl`` pair.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidInputError, NotFoundError
from .hashing import Progress
from .index import Index
from .jsonl import validate_jsonl
from .refs import check_label, resolve
from .scan import SourceFile, scan_source
from .store import AddResult, Store
from .summary import derive_summary

TYPES = ("knowledge", "skills")
# The SDG mixing step names its outputs after the phase they feed.
DEFAULT_PHASES = {"knowledge": "phase07", "skills": "phase10"}
_TRAIN = {kind: re.compile(rf"^{kind}_train_msgs_.*\.jsonl$") for kind in TYPES}
_RECIPE = {kind: re.compile(rf"^{kind}_recipe_.*\.ya?ml$") for kind in TYPES}
_LEGACY_TRAIN = re.compile(r"^train_.*\.jsonl$")
_LEGACY_TEST = re.compile(r"^test_.*\.jsonl$")


@dataclass(frozen=True)
class DatasetFiles:
    """The files of one dataset, by role."""

    train: list[SourceFile]
    test: list[SourceFile]
    recipes: list[SourceFile]

    @property
    def all(self) -> list[SourceFile]:
        return sorted(self.train + self.test + self.recipes, key=lambda source: source.title)


def select_files(paths: list[Path], dataset_type: str, test: list[Path] | None = None) -> DatasetFiles:
    """Pick the dataset's files from explicit files or from one SDG output folder."""
    if dataset_type not in TYPES:
        raise InvalidInputError(f"invalid dataset type {dataset_type!r}", hint="use --type knowledge or --type skills", type=dataset_type)
    test_files = [_single(path) for path in (test or [])]
    if len(paths) == 1 and Path(paths[0]).is_dir():
        chosen = _from_sdg_folder(Path(paths[0]), dataset_type)
        return DatasetFiles(chosen.train, chosen.test + test_files, chosen.recipes)
    train = [_single(path) for path in paths]
    recipes = [source for source in train if source.title.endswith((".yaml", ".yml"))]
    train = [source for source in train if source not in recipes]
    return DatasetFiles(train, test_files, recipes)


def _single(path: Path) -> SourceFile:
    if Path(path).is_dir():
        raise InvalidInputError(f"{path} is a folder", hint="pass one SDG output folder alone, or files only", path=str(path))
    [source] = scan_source(Path(path))
    return source


def _from_sdg_folder(folder: Path, dataset_type: str) -> DatasetFiles:
    names = sorted(entry.name for entry in os.scandir(folder) if entry.is_file())
    train = [name for name in names if _TRAIN[dataset_type].match(name)]
    recipes = [name for name in names if _RECIPE[dataset_type].match(name)]
    test: list[str] = []
    if not train:
        train = [name for name in names if _LEGACY_TRAIN.match(name)]
        test = [name for name in names if _LEGACY_TEST.match(name)]
        recipes = []
    if not train:
        raise NotFoundError(
            f"no {dataset_type} training data in {folder}",
            hint=f"expected {dataset_type}_train_msgs_*.jsonl (or train_*.jsonl from older runs); pass the files directly otherwise",
            path=str(folder),
        )
    pick = lambda group: [SourceFile(name, folder / name, (folder / name).stat().st_size) for name in group]  # noqa: E731
    return DatasetFiles(pick(train), pick(test), pick(recipes))


def teacher_link(index: Index, teacher: str | None) -> tuple[str | None, str | None]:
    """Return (digest, name) for a teacher: a stored model's digest when the ref resolves, else the text."""
    if not teacher:
        return None, None
    try:
        entry = resolve(index, "model", teacher)
    except (NotFoundError, InvalidInputError):
        return None, teacher
    return entry.digest, None


def add_dataset(
    store: Store,
    paths: list[str | os.PathLike],
    name: str | None,
    *,
    dataset_type: str,
    phase: str | None = None,
    teacher: str | None = None,
    test: list[str | os.PathLike] | None = None,
    mode: str = "copy",
    force: bool = False,
    progress: Progress | None = None,
) -> AddResult:
    """Validate and add one dataset; return the add result."""
    phase = check_label(phase, "--phase")
    teacher = check_label(teacher, "--teacher")
    files = select_files([Path(p) for p in paths], dataset_type, [Path(p) for p in test or []])
    if not any(source.title.endswith(".jsonl") for source in files.train):
        raise InvalidInputError(
            f"no training JSONL file among {', '.join(str(p) for p in paths)}",
            hint="a dataset needs at least one .jsonl training file; recipes alone are not a dataset",
        )
    samples = 0
    shapes: dict[str, int] = {}
    for source in files.train + files.test:
        info = validate_jsonl(source.path, source.title)
        if source in files.train:
            samples += info.records
        for shape, count in info.shapes.items():
            shapes[shape] = shapes.get(shape, 0) + count
    titles = [source.title for source in files.all]
    duplicates = sorted({title for title in titles if titles.count(title) > 1})
    if duplicates:
        raise InvalidInputError(
            f"two dataset files are named {duplicates[0]!r}",
            hint="files are stored under their base names; rename one of them",
            titles=titles,
        )

    teacher_digest, teacher_name = teacher_link(store.index(), teacher)
    phase = phase or _default_phase(files, dataset_type)
    config = {
        "kind": "dataset",
        "type": dataset_type,
        "phase": phase,
        "samples": samples,
        "recordShapes": dict(sorted(shapes.items())),
        "splits": {
            "train": sorted(s.title for s in files.train),
            "test": sorted(s.title for s in files.test),
            "recipes": sorted(s.title for s in files.recipes),
        },
        "teacher": teacher_digest,
        "teacherName": teacher_name,
    }
    summary = derive_summary("dataset", config, len(titles))
    return store.add_artifact("dataset", files.all, config, name, mode=mode, summary=summary, force=force, progress=progress)


def _default_phase(files: DatasetFiles, dataset_type: str) -> str | None:
    if any(_TRAIN[dataset_type].match(source.title) for source in files.train):
        return DEFAULT_PHASES[dataset_type]
    return None
