"""Building blocks of the config schema: value types, keys and sections.

The keys themselves are listed in ``keys.py``. A value type accepts what
InstructLab accepts, because InstructLab (0.18 to 0.26) checks its config
with pydantic in lax mode. So a quoted number is valid for a number key, and
``yes``, ``no``, ``on`` and ``off`` are valid for a boolean key.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# Roles of a key whose value is a filesystem path or a store ref.
PATH = "path"
MODEL = "model"
DATASET = "dataset"

_TRUE_WORDS = {"true", "yes", "on", "y", "t", "1"}
_FALSE_WORDS = {"false", "no", "off", "n", "f", "0"}


@dataclass(frozen=True)
class ValueType:
    """A kind of config value: its name in the docs, its check, and what it allows in words."""

    name: str
    allowed: str
    check: Callable[[object], bool]


@dataclass(frozen=True)
class Key:
    """One leaf of the schema.

    ``default`` may contain ``{data}`` and ``{cache}``, which stand for the
    platform data and cache folders. ``role`` is PATH, MODEL or DATASET for
    keys that name files; MODEL and DATASET keys also accept a store ref.
    ``keywords`` are words a PATH key accepts that are not paths (``auto``).
    ``hub`` marks a MODEL key that also accepts a Hugging Face repo id.
    """

    path: str
    type: ValueType
    default: object
    description: str
    since: int = 1
    role: str = ""
    keywords: tuple[str, ...] = ()
    hub: bool = False

    @property
    def name(self) -> str:
        return self.path.rpartition(".")[2]

    @property
    def accepts_ref(self) -> bool:
        return self.role in (MODEL, DATASET)


@dataclass(frozen=True)
class Section:
    """A mapping of keys, such as ``serve`` or ``serve.server``."""

    path: str
    description: str
    since: int = 1


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_int(value: object) -> int | None:
    """Return the integer a value stands for in lax mode, or None."""
    if _is_int(value):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _as_float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _is_bool(value: object) -> bool:
    if isinstance(value, bool):
        return True
    return isinstance(value, str) and value.strip().lower() in _TRUE_WORDS | _FALSE_WORDS


def optional(base: ValueType) -> ValueType:
    """Allow null (an empty value in YAML) as well as ``base``."""
    return ValueType(f"{base.name} or null", f"{base.allowed}, or null", lambda value: value is None or base.check(value))


def integer(minimum: int | None = None, maximum: int | None = None) -> ValueType:
    def check(value: object) -> bool:
        number = _as_int(value)
        if number is None:
            return False
        return (minimum is None or number >= minimum) and (maximum is None or number <= maximum)

    if minimum is not None and maximum is not None:
        allowed = f"an integer from {minimum} to {maximum}"
    elif minimum is not None:
        allowed = f"an integer of {minimum} or more"
    else:
        allowed = "an integer"
    return ValueType("integer", allowed, check)


def choice(*values: str, ignore_case: bool = False) -> ValueType:
    listed = ", ".join(values)

    def check(value: object) -> bool:
        if not isinstance(value, str):
            return False
        if ignore_case:
            return value.upper() in {item.upper() for item in values}
        return value in values

    case_note = " (any case)" if ignore_case else ""
    return ValueType(f"one of {listed}", f"one of {listed}{case_note}", check)


def _check_log_format(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        logging.PercentStyle(value).validate()
    except ValueError:
        return False
    return True


def _check_positive_or_auto(value: object) -> bool:
    if value == "auto":
        return True
    number = _as_int(value)
    return number is not None and number > 0


def comma_list(*values: str) -> ValueType:
    """Return the type of a comma-separated list of words from ``values``, such as ``csv,jsonl``."""
    listed = ", ".join(values)

    def check(value: object) -> bool:
        if not isinstance(value, str) or not value.strip():
            return False
        return all(part.strip() in values for part in value.split(","))

    return ValueType(f"comma-separated list of {listed}", f"a comma-separated list of {listed}", check)


def _check_model_list(value: object) -> bool:
    if not isinstance(value, list):
        return False
    for item in value:
        if not isinstance(item, Mapping):
            return False
        if not all(isinstance(item.get(field), str) for field in ("id", "family", "path")):
            return False
        if not isinstance(item.get("system_prompt"), (str, type(None))):
            return False
    return True


STRING = ValueType("string", "a string", lambda value: isinstance(value, str))
INTEGER = integer()
POSITIVE = integer(1)
NON_NEGATIVE = integer(0)
PORT = integer(1, 65535)
FLOAT = ValueType("number", "a number", lambda value: (number := _as_float(value)) is not None and math.isfinite(number))
BOOLEAN = ValueType("boolean", "true or false", _is_bool)
STRING_LIST = ValueType(
    "list of strings", "a list of strings", lambda value: isinstance(value, list) and all(isinstance(item, str) for item in value)
)
MAPPING = ValueType("mapping", "a mapping of names to values", lambda value: isinstance(value, Mapping))
MODEL_LIST = ValueType(
    "list of models",
    "a list of mappings, each with the strings id, family and path and an optional system_prompt",
    _check_model_list,
)
LOG_FORMAT = ValueType("logging format", "a Python logging format string such as '%(levelname)s %(message)s'", _check_log_format)
POSITIVE_OR_AUTO = ValueType("integer or auto", "an integer of 1 or more, or auto", _check_positive_or_auto)
