#!/usr/bin/env python3
"""List models by walking folders, as `ilab model list --list-checkpoints` of InstructLab does.

This is the baseline of benchmarks/bench_scale.py. It follows list_models(),
_analyze_dir() and is_model_safetensors() in src/instructlab/utils.py of the
instructlab/instructlab repository. For every folder under the model and
checkpoint folders, it lists the files and opens every .safetensors file to
parse its header. It requires config.json, tokenizer.json and
tokenizer_config.json, parses every *.json file and stats every file to add
up the size. At the end it prints a table of name, modification time and size.

Two differences make this walk cheaper than the real command:

- InstructLab parses a header with safetensors.safe_open(framework="pt"),
  which imports PyTorch. This walk parses the header with struct and json.
- It imports only the standard library, where the real command starts the
  whole InstructLab CLI.

Usage:
    python benchmarks/walk_model_list.py --models DIR [--checkpoints DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
import time
from pathlib import Path

GGUF_MAGIC = 0x46554747
REQUIRED_FILES = {"config.json", "tokenizer.json", "tokenizer_config.json"}
MAX_HEADER_BYTES = 100_000_000


def has_tensors(path: Path) -> bool:
    """Parse a safetensors header and tell whether it names at least one tensor."""
    try:
        with open(path, "rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                return False
            (length,) = struct.unpack("<Q", prefix)
            if length > MAX_HEADER_BYTES:
                return False
            header = json.loads(handle.read(length))
    except (OSError, ValueError):
        return False
    return isinstance(header, dict) and any(key != "__metadata__" for key in header)


def is_model_safetensors(folder: Path) -> bool:
    try:
        files = list(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return False
    safetensors = [file for file in files if file.suffix == ".safetensors"]
    has_bin = any(file.suffix == ".bin" for file in files)
    if not safetensors and not has_bin:
        return False
    if not all(has_tensors(file) for file in safetensors):
        return False
    if REQUIRED_FILES - {file.name for file in files}:
        return False
    for file in folder.glob("*.json"):
        try:
            with file.open(encoding="utf-8") as handle:
                json.load(handle)
        except (PermissionError, ValueError):
            return False
    return True


def is_model_gguf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            first = handle.read(4)
        return len(first) == 4 and struct.unpack("<I", first)[0] == GGUF_MAGIC
    except OSError:
        return False


def format_size(size: float) -> str:
    magnitude = "B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        if size < 1024:
            break
        magnitude = unit
        size /= 1024
    return f"{size:.1f} {magnitude}"


def analyze_dir(entry: Path, in_checkpoints: bool) -> list[tuple[str, str, str]]:
    """Walk one top-level folder and return a row for every model folder under it."""
    models = []
    for root, _, files in os.walk(entry.as_posix()):
        normalized = os.path.normpath(root)
        parts = normalized.split(os.sep)
        printed = os.path.join(*parts[-3:]) if in_checkpoints else os.path.join(*parts[-2:])
        if not (is_model_safetensors(Path(normalized)) or is_model_gguf(Path(normalized))):
            continue
        total = 0
        for name in files:
            total += Path(os.path.join(root, name)).stat().st_size
        modified = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(entry.absolute())))
        models.append((printed, modified, format_size(total)))
    return models


def list_models(model_dirs: list[Path], checkpoints_dir: Path | None) -> list[tuple[str, str, str]]:
    folders = [(folder, False) for folder in model_dirs]
    if checkpoints_dir is not None:
        folders.append((checkpoints_dir, True))
    rows = []
    for folder, in_checkpoints in folders:
        for entry in folder.iterdir():
            if entry.is_file() and is_model_gguf(entry):
                info = entry.stat()
                modified = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.st_mtime))
                rows.append((entry.name, modified, format_size(info.st_size)))
            elif entry.is_dir():
                rows.extend(analyze_dir(entry, in_checkpoints))
    return rows


def print_table(headers: tuple[str, ...], rows: list[tuple[str, str, str]]) -> None:
    widths = [max(len(str(row[i])) for row in [*rows, headers]) for i in range(len(headers))]
    rule = "+" + "+".join("-" * (width + 2) for width in widths) + "+"
    lines = [rule, "|" + "|".join(f" {text:{width}} " for text, width in zip(headers, widths)) + "|", rule]
    for row in rows:
        lines.append("|" + "|".join(f" {text:{width}} " for text, width in zip(row, widths)) + "|")
    lines.append(rule)
    sys.stdout.write("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="List models by walking folders, as InstructLab's ilab model list does.")
    parser.add_argument("--models", type=Path, action="append", required=True, metavar="DIR", help="model folder, repeated for several")
    parser.add_argument("--checkpoints", type=Path, default=None, metavar="DIR", help="checkpoint folder, as with --list-checkpoints")
    args = parser.parse_args(argv)
    print_table(("Model Name", "Last Modified", "Size"), list_models(args.models, args.checkpoints))
    return 0


if __name__ == "__main__":
    sys.exit(main())
