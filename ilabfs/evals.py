"""Eval result artifacts: a score for one model, with the raw result files as blobs.

An eval's manifest names the evaluated model's manifest as its OCI
``subject``, so the link is to exact bytes, not to a name or a basename that
a later run could reuse. Scores are read from the files InstructLab's
evaluators produce when no score is given.
"""

from __future__ import annotations

import datetime
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InvalidInputError
from .refs import check_label, resolve
from .scan import SourceFile, scan_source
from .summary import derive_summary

if TYPE_CHECKING:
    # Only for annotations: importing the store module at run time loads the hashing and ingest code.
    from .store import AddResult, Store

KNOWN_METRICS = ("MMLU", "MMLU-Branch", "MT-Bench", "MT-Bench-Branch", "DK-Bench")
_BENCHMARK_NAMES = {
    "mmlu": "MMLU",
    "mmlu_branch": "MMLU-Branch",
    "mt_bench": "MT-Bench",
    "mt_bench_branch": "MT-Bench-Branch",
    "dk_bench": "DK-Bench",
}


@dataclass(frozen=True)
class ParsedResult:
    """The metric, score and date read from one result file; each is None when the file lacks it."""

    metric: str | None
    score: float | None
    date: str | None


def canonical_metric(metric: str) -> str:
    """Return the usual spelling of a known metric (``mt-bench`` -> ``MT-Bench``), or the text as given."""
    folded = metric.strip().casefold().replace("_", "-")
    for known in KNOWN_METRICS:
        if known.casefold() == folded:
            return known
    if not metric.strip():
        raise InvalidInputError("empty metric name", hint="pass --metric MMLU, MT-Bench, DK-Bench or your own name")
    return metric.strip()


def parse_result(path: Path) -> ParsedResult:
    """Read a summary JSON or a per-question JSONL that an InstructLab evaluator writes."""
    text = path.read_text(errors="replace")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        document = None
    # A one-line JSONL file also parses as one JSON object; only a summary names its benchmark.
    if isinstance(document, dict) and ("benchmark" in document or "overall_score" in document):
        metric = _BENCHMARK_NAMES.get(str(document.get("benchmark", "")).casefold())
        score = document.get("overall_score")
        return ParsedResult(metric, float(score) if _is_number(score) else None, None)
    return _parse_jsonl_result(path, text)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _parse_jsonl_result(path: Path, text: str) -> ParsedResult:
    rows = []
    for line in text.splitlines():
        if line.strip():
            try:
                rows.append(json.loads(line))
            except (ValueError, RecursionError):
                return ParsedResult(None, None, None)
    rows = [row for row in rows if isinstance(row, dict)]
    if rows and all("scores" in row for row in rows):
        # DK-Bench writes one row per question with an integer score from 1 to 5.
        scores = [float(row["scores"]) for row in rows if _is_number(row["scores"])]
        stamp = next((row.get("timestamp") for row in rows if row.get("timestamp")), None)
        return ParsedResult("DK-Bench", _mean(scores), _date(stamp))
    if rows and all("judgment" in row and "score" in row for row in rows):
        # MT-Bench judgments: a score of -1 marks a judgment the judge's reply could not be parsed from.
        scores = [float(row["score"]) for row in rows if _is_number(row["score"]) and row["score"] >= 0]
        stamp = max((row.get("tstamp") for row in rows if _is_number(row.get("tstamp"))), default=None)
        return ParsedResult("MT-Bench", _mean(scores), _date(stamp))
    return ParsedResult(None, None, None)


def _mean(values: list[float]) -> float | None:
    if not values:
        return None
    mean = sum(values) / len(values)
    return round(mean, 4) if math.isfinite(mean) else None


def _date(stamp: object) -> str | None:
    """Return a UTC ISO 8601 date for an epoch number or ISO text, or None when it is not a usable date."""
    try:
        if _is_number(stamp):
            parsed = datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc)
        elif isinstance(stamp, str) and stamp:
            parsed = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=datetime.timezone.utc)
        else:
            return None
        return parsed.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError):
        return None


def add_eval(
    store: Store,
    model: str,
    *,
    metric: str | None = None,
    score: float | None = None,
    files: list[str | os.PathLike] | None = None,
    date: str | None = None,
    name: str | None = None,
) -> AddResult:
    """Store one eval result for ``model``; metric and score come from the files when not given."""
    index = store.index()
    subject = resolve(index, "model", model)
    sources: list[SourceFile] = []
    parsed = []
    for path in files or []:
        found = scan_source(Path(path))
        sources.extend(found)
        parsed.extend(parse_result(source.path) for source in found)

    if score is not None and not math.isfinite(score):
        raise InvalidInputError(f"invalid --score {score!r}", hint="pass a finite number", score=score)
    metric = canonical_metric(check_label(metric, "--metric")) if metric else next((p.metric for p in parsed if p.metric), None)
    if metric is None:
        raise InvalidInputError("no metric given and none found in the result files", hint="pass --metric, for example --metric MMLU")
    if score is None:
        score = next((p.score for p in parsed if p.score is not None and (p.metric in (None, metric))), None)
    if score is None:
        where = ", ".join(str(source.path) for source in sources) or "no result file"
        raise InvalidInputError(
            f"no {metric} score given and none found in {where}",
            hint="pass --score X, or a result file with overall_score, per-question score or scores fields",
            metric=metric,
        )
    given = date
    date = _date(given) if given else next((p.date for p in parsed if p.date), None)
    if given and date is None:
        raise InvalidInputError(f"invalid --date {given!r}", hint="use ISO 8601, for example 2025-01-16T03:12:40Z", date=given)
    # Without a date from the user or the files, the eval ran just now.
    date = date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    _check_unique_titles(sources)

    config = {"kind": "eval", "metric": metric, "score": score, "model": subject.digest}
    summary = {**derive_summary("eval", config, len(sources), subject.digest), "date": date}
    return store.add_artifact("eval", sources, config, name, summary=summary, subject=subject)


def _check_unique_titles(sources: list[SourceFile]) -> None:
    titles = [source.title for source in sources]
    duplicates = sorted({title for title in titles if titles.count(title) > 1})
    if duplicates:
        raise InvalidInputError(
            f"two result files are named {duplicates[0]!r}",
            hint="files are stored under their base names; pass each name once",
            titles=titles,
        )


def format_score(metric: str, score: float) -> str:
    """Format MMLU-style fractions as percentages and judge scores as plain numbers."""
    if metric.startswith("MMLU") and 0 <= score <= 1:
        return f"{score * 100:.1f}%"
    return f"{score:.2f}"
