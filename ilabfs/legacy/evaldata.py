"""Reading the eval results InstructLab keeps in ``internal/eval_data/``.

Three kinds of files carry scores:

* ``mt_bench/model_judgment/<judge>_single.jsonl``: one row per judged turn,
  with ``model`` (the basename of the evaluated model's path) and ``score``
  (-1 when the judge's reply could not be parsed). The score of a model is
  the mean of its other scores.
* ``mt_bench_branch/<branch>/model_judgment/<judge>_single.jsonl``: the same
  for MT-Bench-Branch, with rows for the base and the new model.
* ``dk_bench/<model basename>/results_<ISO time>.jsonl``: one row per
  question with an integer ``scores`` from 1 to 5.

Each result becomes an EvalItem labelled with the model basename. Which
model that is gets decided later, in lineage inference. Questions, reference
answers and model answers are inputs of these evaluators. They are stored
with the score they belong to when present, and are not reported otherwise.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from ..errors import InvalidInputError
from .inputs import iso_utc
from .items import EvalItem, Plan

# DK-Bench names its results folder so when it scored responses given in its input file.
NO_MODEL = "no-model-provided"
SCORE_DIGITS = 4


def discover_evals(folder: Path, plan: Plan) -> None:
    if not folder.is_dir():
        return
    _discover_judgments(folder / "mt_bench", "MT-Bench", "mt_bench", plan)
    branches = folder / "mt_bench_branch"
    if branches.is_dir():
        for branch in sorted(path for path in branches.iterdir() if path.is_dir()):
            _discover_judgments(branch, "MT-Bench-Branch", "mt_bench_branch", plan)
    _discover_dk_bench(folder / "dk_bench", plan)


def _discover_judgments(folder: Path, metric: str, origin: str, plan: Plan) -> None:
    judgments = folder / "model_judgment"
    if not judgments.is_dir():
        return
    for path in sorted(judgments.glob("*_single.jsonl")):
        try:
            rows = read_rows(path)
        except InvalidInputError as error:
            plan.skip(path, str(error))
            continue

        by_model: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            if isinstance(row.get("model"), str) and row["model"]:
                by_model[row["model"]].append(row)
        if not by_model:
            plan.skip(path, "no row names a model")
        for model, model_rows in sorted(by_model.items()):
            scores = [float(row["score"]) for row in model_rows if _is_number(row.get("score")) and row["score"] >= 0]
            if not scores:
                plan.skip(path, f"no parseable {metric} judgment of {model}: every score is -1")
                continue
            stamps = [row["tstamp"] for row in model_rows if _is_number(row.get("tstamp"))]
            answers = folder / "model_answer" / f"{model}.jsonl"
            files = (path, answers) if "/" not in model and answers.is_file() else (path,)
            score = round(sum(scores) / len(scores), SCORE_DIGITS)
            plan.evals.append(EvalItem(path, origin, metric, score, files, iso_utc(max(stamps, default=None)), model_label=model))


def _discover_dk_bench(folder: Path, plan: Plan) -> None:
    if not folder.is_dir():
        return
    for model_folder in sorted(path for path in folder.iterdir() if path.is_dir()):
        if model_folder.name == NO_MODEL:
            plan.skip(model_folder, "DK-Bench scored responses given in its input file, so there is no model to link")
            continue
        for path in sorted(model_folder.iterdir()):
            if not (path.name.startswith("results_") and path.name.endswith(".jsonl")):
                plan.skip(path, "not a DK-Bench JSONL results file; CSV and XLSX copies of the results are not read")
                continue
            _add_dk_bench_result(path, model_folder.name, plan)


def _add_dk_bench_result(path: Path, model: str, plan: Plan) -> None:
    try:
        rows = read_rows(path)
    except InvalidInputError as error:
        plan.skip(path, str(error))
        return
    scores = [float(row["scores"]) for row in rows if _is_number(row.get("scores"))]
    if not scores:
        plan.skip(path, "no row has a numeric 'scores' field")
        return
    stamp = next((row["timestamp"] for row in rows if row.get("timestamp")), path.stem.removeprefix("results_"))
    score = round(sum(scores) / len(scores), SCORE_DIGITS)
    plan.evals.append(EvalItem(path, "dk_bench", "DK-Bench", score, (path,), iso_utc(stamp), model_label=model))


def read_rows(path: Path) -> list[dict]:
    """Return the JSON objects of a JSONL file; raise InvalidInputError naming the first bad line."""
    rows = []
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise InvalidInputError(f"line {number} of {path} is not valid JSON", hint="the file is skipped", path=str(path)) from None
            if isinstance(row, dict):
                rows.append(row)
    return rows


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
