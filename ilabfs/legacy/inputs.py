"""The inputs of a migration: the legacy folders, the legacy config and the phased-training journal.

InstructLab keeps models in its cache folder, generated data, checkpoints
and eval results in its data folder, and its settings in
``<config folder>/config.yaml``. The three folders default to the
platformdirs folders of the application name ``instructlab``, as InstructLab
itself chooses them (``~/.cache/instructlab``, ``~/.local/share/instructlab``
and ``~/.config/instructlab`` on Linux).

Of the config only the keys that name lineage are read. Of the journal
only the run id and the per-checkpoint scores are read.
"""

from __future__ import annotations

import datetime
import math
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import ConfigError, InvalidInputError

APP_NAME = "instructlab"
JOURNAL_NAME = "journalfile.yaml"
# The journal's eval_1 held MMLU scores of phase 1 checkpoints, eval_2 MT-Bench scores of phase 2 ones.
JOURNAL_METRICS = {"eval_1": "MMLU", "eval_2": "MT-Bench"}


@dataclass(frozen=True)
class LegacyPaths:
    """The three folders of an InstructLab installation."""

    data_dir: Path
    cache_dir: Path
    config_file: Path

    @classmethod
    def defaults(cls) -> LegacyPaths:
        import platformdirs

        return cls(
            Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.yaml",
        )

    @property
    def models_dir(self) -> Path:
        return self.cache_dir / "models"

    @property
    def oci_dir(self) -> Path:
        return self.cache_dir / "oci"


@dataclass(frozen=True)
class LegacyConfig:
    """The values of an InstructLab ``config.yaml`` that tell where models and data came from."""

    path: Path
    student: str | None  # train.model_path
    teacher: str | None  # generate.teacher.model_path
    data_path: str | None  # train.data_path
    phase1_data: str | None  # train.phased_phase1_data
    phase2_data: str | None  # train.phased_phase2_data
    journal: str | None  # train.training_journal


@dataclass(frozen=True)
class JournalScore:
    """One checkpoint's score from the journal, with the full checkpoint path it names."""

    checkpoint: str
    score: float
    metric: str
    date: str | None


@dataclass(frozen=True)
class Journal:
    """The run id and the per-checkpoint scores of a phased-training journal."""

    path: Path
    run_id: str | None
    scores: tuple[JournalScore, ...]


def read_legacy_config(path: Path) -> LegacyConfig | None:
    """Read the legacy config; return None when the file does not exist.

    Raises ConfigError when the file is not YAML or not a mapping.
    """
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(
            f"legacy config {path} is not valid YAML ({_first_line(error)})",
            hint="fix the file, or pass --legacy-config with another one",
            path=str(path),
        ) from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError(f"legacy config {path} is not a YAML mapping", hint="pass --legacy-config with an InstructLab config.yaml", path=str(path))

    return LegacyConfig(
        path=path,
        student=_text(document, "train", "model_path"),
        teacher=_text(document, "generate", "teacher", "model_path"),
        data_path=_text(document, "train", "data_path"),
        phase1_data=_text(document, "train", "phased_phase1_data"),
        phase2_data=_text(document, "train", "phased_phase2_data"),
        journal=_text(document, "train", "training_journal"),
    )


def _text(document: dict, *keys: str) -> str | None:
    value: object = document
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    if isinstance(value, (str, os.PathLike)) and str(value).strip():
        return str(value).strip()
    return None


def read_journal(path: Path) -> Journal:
    """Read a phased-training journal; raise InvalidInputError when it cannot be parsed."""
    try:
        document = yaml.safe_load(path.read_text(errors="replace"))
    except yaml.YAMLError as error:
        raise InvalidInputError(f"journal {path} is not valid YAML ({_first_line(error)})", hint="its scores and run id are not imported", path=str(path)) from None
    if not isinstance(document, dict):
        raise InvalidInputError(f"journal {path} is not a YAML mapping", hint="its scores and run id are not imported", path=str(path))

    run_id = document.get("run_id")
    scores = []
    for phase, metric in JOURNAL_METRICS.items():
        evaluation = document.get(phase)
        results = evaluation.get("results") if isinstance(evaluation, dict) else None
        for result in results if isinstance(results, list) else []:
            score = _journal_score(result, metric)
            if score is not None:
                scores.append(score)
    return Journal(path, str(run_id) if run_id else None, tuple(scores))


def _journal_score(result: object, metric: str) -> JournalScore | None:
    if not isinstance(result, dict):
        return None
    checkpoint = result.get("checkpoint")
    score = result.get("score")
    if not isinstance(checkpoint, str) or isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
        return None
    return JournalScore(checkpoint, float(score), metric, iso_utc(result.get("ended_at_utc")))


def iso_utc(value: object) -> str | None:
    """Return a timestamp as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC, or None when it is not one.

    Accepts POSIX seconds, ISO 8601 text and the datetime objects that YAML
    makes of unquoted timestamps. A time without a zone is taken as UTC.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        moment = datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    elif isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
