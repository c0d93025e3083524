"""Migrations of the config document from each format version to the next.

Version 0 is a file without ``version``, as InstructLab wrote before 0.18.
Version 1 is ``version: 1.0.0``, written by InstructLab 0.18 to 0.26.
Version 2 is this project's: it adds the ``storage`` section and lets model
and dataset keys name a store ref. Each step is one function that changes
the document in place and records what it did. Steps never drop a key: a
key they cannot convert stays as it is, and validation reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ruamel.yaml.comments import CommentedMap

from .. import __version__
from ..errors import ConfigError
from .comments import insert_in_order, remove_entry, replace_entry
from .document import line_of, lookup
from .keys import CURRENT_VERSION, children
from .validation import Problem, invalid_value

# Text of the version field for each format version. It is a string because InstructLab
# declares the field a string and rejects a number there.
VERSION_TEXT = {1: "1.0.0", 2: "2.0.0"}

STORAGE_COMMENT = "Settings of the ilabfs store (config version 2)."
ROOT_COMMENT = "Folder of the store; empty means <data dir>/store. ILABFS_STORE and --store override it."


@dataclass
class Migration:
    """Record of one document's migration: versions, changes, and problems left for validation."""

    source_version: int
    target_version: int
    changes: list[str] = field(default_factory=list)
    # Line of the original key, for each key that a step created from it.
    origins: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def read_version(document: CommentedMap, source: str) -> tuple[int, Problem | None]:
    """Return the format version of a document, and a problem when the version field is invalid.

    A missing field means version 0. ``2``, ``"2"`` and ``2.0.0`` all mean
    version 2. An invalid field counts as the current version, so the rest of
    the file is still checked. A version newer than this ilabfs is an error.
    """
    if "version" not in document:
        return 0, None
    value = document["version"]
    line = line_of(document, "version")
    number = _major_version(value)
    if number is None:
        return CURRENT_VERSION, invalid_value("version", value, "a whole number such as 2, or a version string such as 1.0.0", line)
    if number > CURRENT_VERSION:
        raise ConfigError(
            f"{source}:{line}: config version {value} is newer than this ilabfs ({__version__}), which reads versions 0 to {CURRENT_VERSION}",
            hint=f"upgrade ilabfs to a release that knows config version {number}, or choose another file with --config",
            path=source,
            version=number,
            supported=CURRENT_VERSION,
        )
    return number, None


def _major_version(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value) if value >= 0 else None
    text = str(value).strip() if isinstance(value, (str, float)) else ""
    parts = text.split(".")
    if not 1 <= len(parts) <= 3 or not all(part.isdigit() for part in parts):
        return None
    return int(parts[0])


def migrate(document: CommentedMap, version: int) -> Migration:
    """Bring ``document`` from ``version`` to the current version, in place."""
    migration = Migration(version, version)
    while migration.target_version < CURRENT_VERSION:
        step = migration.target_version
        first_change = len(migration.changes)
        STEPS[step](document, migration)
        migration.changes[first_change:] = [f"version {step} to {step + 1}: {change}" for change in migration.changes[first_change:]]
        migration.target_version += 1
    return migration


def migrate_0_to_1(document: CommentedMap, migration: Migration) -> None:
    """InstructLab 0.18 moved the llama-cpp settings of ``serve`` into ``serve.llama_cpp``."""
    serve = document.get("serve")
    if isinstance(serve, CommentedMap):
        _split_host_port(serve, "serve", migration)
        for name in ("gpu_layers", "max_ctx_size"):
            _move_into(serve, name, "llama_cpp", "serve", migration)
    _set_version(document, 1, migration)


def migrate_1_to_2(document: CommentedMap, migration: Migration) -> None:
    """Add the ``storage`` section, and split ``host_port``, which InstructLab 0.18 to 0.22 still wrote."""
    for dotted in ("serve", "generate.teacher"):
        found, section = lookup(document, dotted)
        if found and isinstance(section, CommentedMap):
            _split_host_port(section, dotted, migration)
    _add_storage(document, migration)
    _set_version(document, 2, migration)


STEPS = {0: migrate_0_to_1, 1: migrate_1_to_2}


def parse_host_port(value: object) -> tuple[str, int] | None:
    """Split ``HOST:PORT`` (``[IPv6]:PORT`` too); return None unless both parts are valid."""
    if not isinstance(value, str):
        return None
    host, colon, port = value.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not colon or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        return None
    return host, int(port)


def _split_host_port(section: CommentedMap, prefix: str, migration: Migration) -> None:
    if "host_port" not in section:
        return
    value = section["host_port"]
    line = line_of(section, "host_port") or migration.origins.get(f"{prefix}.host_port")
    if "server" in section:
        migration.changes.append(f"kept {prefix}.host_port as it is, because {prefix}.server is already set")
        return
    parsed = parse_host_port(value)
    if parsed is None:
        problem = invalid_value(f"{prefix}.host_port", value, "HOST:PORT such as 127.0.0.1:8000", line)
        # Both steps try the split, and the file should name the value once.
        if problem not in migration.problems:
            migration.problems.append(problem)
        return

    host, port = parsed
    replace_entry(section, "host_port", "server", CommentedMap([("host", host), ("port", port)]))
    for name in ("server", "server.host", "server.port"):
        migration.origins[f"{prefix}.{name}"] = line
    migration.changes.append(f"{prefix}.host_port {value} became {prefix}.server.host {host} and {prefix}.server.port {port}")


def _move_into(section: CommentedMap, name: str, target: str, prefix: str, migration: Migration) -> None:
    """Move ``section[name]`` to ``section[target][name]``, creating the target where the key was."""
    if name not in section:
        return
    line = line_of(section, name)
    existing = section.get(target)
    if existing is not None and (not isinstance(existing, CommentedMap) or name in existing):
        migration.changes.append(f"kept {prefix}.{name} as it is, because {prefix}.{target}.{name} is already set")
        return

    value = section[name]
    if existing is None:
        replace_entry(section, name, target, CommentedMap([(name, value)]))
        migration.origins[f"{prefix}.{target}"] = line
    else:
        comment = remove_entry(section, name)
        insert_in_order(existing, name, value, children(f"{prefix}.{target}"))
        if comment:
            existing.yaml_add_eol_comment(comment, name)
    migration.origins[f"{prefix}.{target}.{name}"] = line
    migration.changes.append(f"{prefix}.{name} moved to {prefix}.{target}.{name}")


def _add_storage(document: CommentedMap, migration: Migration) -> None:
    if "storage" in document:
        return
    storage = CommentedMap([("root", None)])
    storage.yaml_set_comment_before_after_key("root", before=ROOT_COMMENT, indent=2)
    insert_in_order(document, "storage", storage, children(""))
    document.yaml_set_comment_before_after_key("storage", before=STORAGE_COMMENT)
    migration.changes.append("added the storage section (storage.root empty: the store stays in <data dir>/store)")


def _set_version(document: CommentedMap, version: int, migration: Migration) -> None:
    text = VERSION_TEXT[version]
    if "version" in document:
        document["version"] = text
    else:
        insert_in_order(document, "version", text, children(""))
    migration.changes.append(f"version set to {text}")
