"""Model artifacts: checking a Hugging Face style model directory and adding it.

A model's config document records what can be read without loading
weights: the format, the data type (from safetensors headers, else
``config.json``'s ``torch_dtype``), the parameter count, and its lineage
(base model, dataset, phase, step, run).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from .errors import InvalidInputError
from .refs import check_label
from .summary import derive_summary
from .hashing import Progress
from .safetensors import TORCH_DTYPES, dominant_dtype, read_header
from .scan import SourceFile, scan_source
from .store import AddResult, Store


def describe_model(sources: list[SourceFile]) -> dict:
    """Check every safetensors header and return the model facts for the config document."""
    bytes_by_dtype: Counter[str] = Counter()
    parameters = 0
    safetensors = 0
    for source in sources:
        if source.title.endswith(".safetensors"):
            info = read_header(source.path, source.title)
            bytes_by_dtype.update(info.bytes_by_dtype)
            parameters += info.parameter_count
            safetensors += 1
    data_type = dominant_dtype(dict(bytes_by_dtype)) or _config_dtype(sources)
    return {
        "format": _format(sources, safetensors),
        "dataType": data_type,
        "parameters": parameters or None,
    }


def _format(sources: list[SourceFile], safetensors: int) -> str:
    if safetensors:
        return "safetensors"
    if any(source.title.endswith(".gguf") for source in sources):
        return "gguf"
    if any(source.title.endswith((".bin", ".pt", ".pth")) for source in sources):
        return "pytorch"
    return "other"


def _config_dtype(sources: list[SourceFile]) -> str | None:
    config = next((source for source in sources if source.title == "config.json"), None)
    if config is None:
        return None
    try:
        dtype = json.loads(config.path.read_bytes()).get("torch_dtype")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(dtype, str):
        return None
    dtype = dtype.removeprefix("torch.")
    return TORCH_DTYPES.get(dtype, dtype.upper())


def add_model(
    store: Store,
    path: str | os.PathLike,
    name: str | None,
    *,
    mode: str = "copy",
    base: str | None = None,
    dataset: str | None = None,
    phase: str | None = None,
    step: int | None = None,
    run: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
    sources: list[SourceFile] | None = None,
) -> AddResult:
    """Add the model directory at ``path`` under ``name``.

    ``base`` and ``dataset`` are refs, resolved to digests before anything is
    written, so an unknown ref costs no copying. ``sources``, when given, are
    the files to store in place of the ones scan_source() finds under ``path``.
    """
    index = store.index()
    base_entry = store.resolve("model", base, index) if base else None
    dataset_entry = store.resolve("dataset", dataset, index) if dataset else None
    phase = check_label(phase, "--phase")
    run = check_label(run, "--run")
    if step is not None and step < 0:
        raise InvalidInputError(f"invalid step {step}", hint="a step is a count of samples or steps, 0 or more", step=step)

    sources = sources if sources is not None else scan_source(Path(path))
    facts = describe_model(sources)
    lineage = {
        "base": base_entry.digest if base_entry else None,
        "dataset": dataset_entry.digest if dataset_entry else None,
        "phase": phase,
        "step": step,
        "run": run,
    }
    config = {"kind": "model", **facts, **{key: value for key, value in lineage.items() if value is not None}}
    summary = derive_summary("model", config, len(sources))
    return store.add_artifact("model", sources, config, name, mode=mode, summary=summary, force=force, progress=progress)
