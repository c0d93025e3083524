"""Validation of safetensors files without loading their tensors.

A safetensors file is an 8-byte little-endian header length N, N bytes of
JSON mapping tensor names to ``{"dtype", "shape", "data_offsets"}`` (plus an
optional ``__metadata__`` map of strings), then the tensor data. Offsets are
relative to the end of the header and must lie inside the file.
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidInputError

# The reference implementation rejects headers above 100 MB.
MAX_HEADER_BYTES = 100_000_000

DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8,
}


@dataclass(frozen=True)
class SafetensorsInfo:
    """What ingest records about one safetensors file."""

    tensor_count: int
    parameter_count: int
    bytes_by_dtype: dict[str, int]


def read_header(path: Path, display: str) -> SafetensorsInfo:
    """Parse and check the header of ``path``; ``display`` names it in errors."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        prefix = handle.read(8)
        if len(prefix) < 8:
            _fail(display, "file is shorter than the 8-byte header length")
        (header_length,) = struct.unpack("<Q", prefix)
        if header_length > MAX_HEADER_BYTES or 8 + header_length > size:
            _fail(display, f"header length {header_length} does not fit in a file of {size} bytes")
        raw = handle.read(header_length)
    try:
        header = json.loads(raw, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        _fail(display, f"header is not valid JSON ({str(error)[:200]})")
    if not isinstance(header, dict):
        _fail(display, "header is not a JSON object")
    return _check_tensors(header, size - 8 - header_length, display)


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        duplicate = next(key for key in keys if keys.count(key) > 1)
        raise ValueError(f"key {duplicate!r} appears twice")
    return dict(pairs)


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


def _check_tensors(header: dict, data_size: int, display: str) -> SafetensorsInfo:
    """Check each tensor entry and that the tensors tile the data area exactly.

    The reference loader rejects gaps, overlaps and trailing bytes, so a file
    with any of them would fail to load later; it is rejected here instead.
    """
    bytes_by_dtype: Counter[str] = Counter()
    parameters = 0
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                _fail(display, "__metadata__ is not an object of strings")
            continue
        dtype, shape, offsets = _tensor_fields(name, entry, display)
        start, end = offsets
        if not 0 <= start <= end <= data_size:
            _fail(display, f"tensor {name!r} has data_offsets {offsets} outside the {data_size}-byte data area")
        elements = math.prod(shape)
        if elements * DTYPE_SIZES[dtype] != end - start:
            _fail(display, f"tensor {name!r} of shape {shape} and dtype {dtype} does not span {end - start} bytes")
        bytes_by_dtype[dtype] += end - start
        parameters += elements
        spans.append((start, end, name))
    _check_tiling(sorted(spans), data_size, display)
    return SafetensorsInfo(len(spans), parameters, dict(bytes_by_dtype))


def _check_tiling(spans: list[tuple[int, int, str]], data_size: int, display: str) -> None:
    position = 0
    for start, end, name in spans:
        if start != position:
            problem = "overlaps the tensor before it" if start < position else f"leaves a gap of {start - position} bytes before it"
            _fail(display, f"tensor {name!r} at data_offsets [{start}, {end}] {problem}")
        position = end
    if position != data_size:
        _fail(display, f"the tensors cover {position} of the {data_size} data bytes")


def _tensor_fields(name: str, entry: object, display: str) -> tuple[str, list[int], list[int]]:
    if not isinstance(entry, dict):
        _fail(display, f"tensor {name!r} is not an object")
    dtype = entry.get("dtype")
    shape = entry.get("shape")
    offsets = entry.get("data_offsets")
    if dtype not in DTYPE_SIZES:
        _fail(display, f"tensor {name!r} has unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        _fail(display, f"tensor {name!r} has an invalid shape {shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)):
        _fail(display, f"tensor {name!r} has invalid data_offsets {offsets!r}")
    return dtype, shape, offsets


def _fail(display: str, reason: str) -> None:
    raise InvalidInputError(
        f"invalid safetensors file {display}: {reason}",
        hint="re-export or re-download the file; nothing was added",
        path=display,
    )


def dominant_dtype(bytes_by_dtype: dict[str, int]) -> str | None:
    """Return the dtype that holds the most bytes, which is what users call the model's data type."""
    if not bytes_by_dtype:
        return None
    return max(sorted(bytes_by_dtype), key=lambda dtype: bytes_by_dtype[dtype])


# config.json's torch_dtype spelled the way safetensors headers spell dtypes.
TORCH_DTYPES = {
    "bfloat16": "BF16", "float16": "F16", "half": "F16", "float32": "F32", "float": "F32",
    "float64": "F64", "int8": "I8", "uint8": "U8",
}
