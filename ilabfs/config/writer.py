"""Changing the config file: init, set, migrate and replacing it after an edit.

Every change reads the file, changes it and writes it back while holding an
flock on ``.<name>.lock`` beside the file, so two processes never lose each
other's change. The new text is written by ``atomic_write`` (temporary file,
fsync, rename, fsync of the folder), so a reader sees the old file or the new
one, never a mix. A file that is a symlink is changed at its target, so the
link stays. Before a change that rewrites the whole file, the old text is
saved beside it as ``<name>.<UTC time>.bak``.
"""

from __future__ import annotations

import contextlib
import datetime
import difflib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml.comments import CommentedMap

from ..errors import AlreadyExistsError, ConfigError, InvalidInputError, NotFoundError
from ..fsutil import atomic_write
from ..locks import file_lock
from .comments import insert_in_order
from .document import Style, dump, line_of, parse, parse_scalar
from .keys import CURRENT_VERSION, KEYS, SECTIONS, children, key_for
from .loader import read_text
from .migrations import VERSION_TEXT, Migration, migrate, read_version
from .paths import ConfigLocation
from .render import default_document
from .schema import BOOLEAN, Key
from .validation import close_key, show_value


@dataclass
class SetResult:
    path: Path
    key: str
    old: object
    new: object
    created: bool


@dataclass
class MigrateResult:
    path: Path
    migration: Migration
    diff: str = ""
    backup: Path | None = None

    @property
    def changed(self) -> bool:
        return self.migration.source_version != self.migration.target_version


def target_of(location: ConfigLocation) -> Path:
    """Return the file to write: the target of a symlink, so the link stays a link."""
    return Path(os.path.realpath(location.path))


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the config file's lock; create its folder first, because init may be the first write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(path.with_name(f".{path.name}.lock")):
        yield


def write_text(path: Path, text: str) -> None:
    """Replace the file atomically, keeping its permission bits."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o644
    atomic_write(path, text.encode("utf-8"), mode)


def backup(path: Path, text: str) -> Path:
    """Save ``text`` beside ``path`` under a new name with the UTC time, and return that name."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    candidate = path.with_name(f"{path.name}.{stamp}.bak")
    number = 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}.{stamp}-{number}.bak")
    write_text(candidate, text)
    return candidate


def default_text() -> str:
    return dump(default_document())


def init_config(location: ConfigLocation, force: bool = False) -> Path | None:
    """Write a config file with every key at its default; return the backup of a replaced file."""
    path = target_of(location)
    with locked(path):
        old = read_text(path)
        if old is not None and not force:
            raise AlreadyExistsError(
                f"config file {location.path} already exists",
                hint="change it with ilab config set or ilab config edit, or pass --force to replace it (a backup is kept)",
                path=str(location.path),
            )
        saved = backup(path, old) if old is not None else None
        write_text(path, default_text())
    return saved


def set_value(location: ConfigLocation, dotted: str, text: str) -> SetResult:
    """Set one key to the value ``text`` means in YAML, keeping the file's comments and order.

    The file is changed in its own format version: version 1 keeps version 1,
    so InstructLab can still read it. A missing file is created with
    just this key and the version.
    """
    path = target_of(location)
    source = str(location.path)
    with locked(path):
        old_text = read_text(path)
        if old_text is None:
            document, style, version = CommentedMap(), Style(), CURRENT_VERSION
        else:
            document, style = parse(old_text, source)
            version, _ = read_version(document, source)

        key = _settable_key(dotted, version, source)
        value = coerce_value(key, text)
        parent = _parent_mapping(document, dotted, version, source)
        name = dotted.rpartition(".")[2]
        old = parent.get(name)
        insert_in_order(parent, name, value, children(dotted.rpartition(".")[0], version))
        if old_text is None:
            insert_in_order(document, "version", VERSION_TEXT[CURRENT_VERSION], children(""))

        new_text = dump(document, style)
        # Never write a file that this tool could not read back.
        parse(new_text, source)
        write_text(path, new_text)
    return SetResult(location.path, dotted, old, value, old_text is None)


def _settable_key(dotted: str, version: int, source: str) -> Key:
    if version == 0:
        raise ConfigError(
            f"{source} has no version field, so it is config version 0, written by InstructLab before 0.18",
            hint="run ilab config migrate first (it keeps a backup), then set the key",
            path=source,
        )
    if dotted == "version":
        raise InvalidInputError("version cannot be set", hint="ilab config migrate updates it", key=dotted)
    if dotted in SECTIONS:
        first = children(dotted)[0]
        raise InvalidInputError(f"{dotted} is a section, not a key", hint=f"set one of its keys, such as {dotted}.{first}", key=dotted)
    key = key_for(dotted, version)
    if key is not None:
        return key
    if dotted in KEYS:
        raise ConfigError(
            f"{dotted} is new in config version {KEYS[dotted].since}, but {source} is version {version}",
            hint="run ilab config migrate first (it keeps a backup)",
            key=dotted,
            path=source,
        )
    suggestion = close_key(dotted, version)
    raise InvalidInputError(
        f"unknown key {dotted}" + (f" (did you mean {suggestion}?)" if suggestion else ""),
        hint="run ilab config show --comments to see every key",
        key=dotted,
    )


def coerce_value(key: Key, text: str) -> object:
    """Return the value ``text`` means for ``key``: its YAML reading if that fits, else the plain string."""
    parsed = parse_scalar(text)
    # "yes" is a string in YAML 1.2 but a boolean to InstructLab, so a boolean key stores it as one.
    if key.type.name.startswith(BOOLEAN.name) and isinstance(parsed, str) and BOOLEAN.check(parsed):
        parsed = parsed.strip().lower() in ("true", "yes", "on", "y", "t", "1")
    for candidate in (parsed, text):
        if key.type.check(candidate):
            return candidate
    raise InvalidInputError(
        f"invalid value {show_value(text)} for {key.path}: expected {key.type.allowed}",
        hint=f"run ilab config show -k {key.path} --comments to see what it means",
        key=key.path,
        value=text,
    )


def _parent_mapping(document: CommentedMap, dotted: str, version: int, source: str) -> CommentedMap:
    """Return the mapping that contains ``dotted``, creating missing sections in schema order."""
    mapping = document
    prefix = ""
    for part in dotted.split(".")[:-1]:
        current = f"{prefix}.{part}" if prefix else part
        value = mapping.get(part)
        if value is None:
            insert_in_order(mapping, part, CommentedMap(), children(prefix, version))
        elif not isinstance(value, CommentedMap):
            line = line_of(mapping, part)
            raise ConfigError(
                f"{source}:{line}: {current} is {show_value(value)}, not a section",
                hint="fix it with ilab config edit",
                key=current,
                path=source,
            )
        mapping = _own_section(mapping, part)
        prefix = current
    return mapping


def _own_section(mapping: CommentedMap, part: str) -> CommentedMap:
    """Return ``mapping[part]``, first replaced by a private copy when it is an anchored section.

    A section written once with an anchor (``&name``) and reused through
    aliases (``*name``) is one object, so setting a key in it would change
    every section that shares it. The copy keeps the comments, and the
    aliases keep the original.
    """
    import copy

    section = mapping[part]
    if getattr(section.anchor, "value", None) is None:
        return section
    private = copy.deepcopy(section)
    private.anchor.value = None
    private.anchor.always_dump = False
    mapping[part] = private
    return private


def migrate_config(location: ConfigLocation, dry_run: bool = False) -> MigrateResult:
    """Migrate the file to the current version; save a backup first, or only compute the diff.

    A dry run only reads, so it takes no lock and creates no lock file.
    """
    path = target_of(location)
    source = str(location.path)
    with contextlib.nullcontext() if dry_run else locked(path):
        old_text = read_text(path)
        if old_text is None:
            raise NotFoundError(f"config file {source} not found", hint="create it with ilab config init", path=source)
        document, style = parse(old_text, source)
        version, problem = read_version(document, source)
        if problem is not None:
            raise ConfigError(problem.describe(source), hint="fix the version field with ilab config edit, then migrate", path=source)
        migration = migrate(document, version)
        result = MigrateResult(location.path, migration)
        if not result.changed:
            return result

        new_text = dump(document, style)
        parse(new_text, source)
        result.diff = "".join(
            difflib.unified_diff(old_text.splitlines(True), new_text.splitlines(True), f"{source} (version {version})", f"{source} (version {CURRENT_VERSION})")
        )
        if not dry_run:
            result.backup = backup(path, old_text)
            write_text(path, new_text)
    return result


def replace_config(location: ConfigLocation, expected: str | None, new_text: str) -> Path | None:
    """Write ``new_text`` unless the file changed since it read ``expected``; return the backup of the old file."""
    path = target_of(location)
    with locked(path):
        current = read_text(path)
        if current != expected:
            raise ConfigError(
                f"config file {location.path} changed while it was being edited",
                hint="run ilab config edit again and copy your change into the new text",
                path=str(location.path),
            )
        saved = backup(path, current) if current is not None else None
        write_text(path, new_text)
    return saved
