"""Loading the config file: read, parse, migrate in memory, validate.

Loading fails only when the file cannot be understood at all: a YAML syntax
error, a version newer than this ilabfs, or an explicitly named file that
does not exist. Invalid values and unknown keys are collected in the
result instead, so that ``ilab config show``, ``edit`` and ``validate`` work
on a broken file. Callers that need a valid config call
``raise_for_problems``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml.comments import CommentedMap

from ..errors import ConfigError, NotFoundError
from ..locations import STORE_ENV
from .document import Style, line_of, lookup, parse
from .keys import CURRENT_VERSION
from .migrations import Migration, migrate, read_version
from .paths import ConfigLocation, locate_config, resolve_path
from .validation import Problem, Report, validate


@dataclass(frozen=True)
class Override:
    """A value set outside the file, by an environment variable or a command-line option."""

    value: object
    source: str


@dataclass
class LoadedConfig:
    """A config file as read: its text, the document migrated to the current version, and its problems."""

    location: ConfigLocation
    text: str | None
    document: CommentedMap
    style: Style
    migration: Migration
    report: Report

    @property
    def source(self) -> str:
        return str(self.location.path)

    @property
    def exists(self) -> bool:
        return self.text is not None

    @property
    def file_version(self) -> int:
        return self.migration.source_version

    @property
    def problems(self) -> list[Problem]:
        return self.report.problems

    @property
    def unknown(self) -> list[Problem]:
        return self.report.unknown

    def line(self, dotted: str) -> int | None:
        """Return the line of a key in the file, or of the key a migration made it from."""
        parent, _, name = dotted.rpartition(".")
        found, mapping = lookup(self.document, parent) if parent else (True, self.document)
        line = line_of(mapping, name) if found else None
        return line or self.migration.origins.get(dotted)

    def where(self, dotted: str) -> str:
        line = self.line(dotted)
        return f"{self.source}:{line}" if line else self.source

    def raise_for_problems(self, selection: str | None = None) -> None:
        """Raise ConfigError for the first problem, naming how many others there are.

        ``selection`` limits the check to one key or section and its parents.
        """
        problems = [problem for problem in self.problems if _concerns(problem.key, selection)]
        if not problems:
            return
        first = problems[0]
        others = len(problems) - 1
        more = f" (and {others} more problem{'s' if others > 1 else ''})" if others else ""
        raise ConfigError(
            f"{first.describe(self.source)}{more}",
            hint="run ilab config validate to list every problem, and fix them with ilab config set or ilab config edit",
            path=self.source,
            key=first.key,
            line=first.line,
        )


def _concerns(key: str, selection: str | None) -> bool:
    if selection is None:
        return True
    return key == selection or key.startswith(f"{selection}.") or selection.startswith(f"{key}.")


def read_text(path: Path) -> str | None:
    """Return the text of the file, or None when it does not exist."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:{line}: invalid config: byte {error.start} is not UTF-8 text",
            hint="save the file as UTF-8, or recreate it with ilab config init --force",
            path=str(path),
            line=line,
        ) from None


def load_text(text: str | None, location: ConfigLocation) -> LoadedConfig:
    """Parse, migrate in memory and validate the text of a config file; None stands for a missing file."""
    source = str(location.path)
    if text is None:
        document, style = CommentedMap(), Style()
        version, version_problem = CURRENT_VERSION, None
    else:
        document, style = parse(text, source)
        version, version_problem = read_version(document, source)

    migration = migrate(document, version)
    report = validate(document, CURRENT_VERSION, migration.origins)
    early = [version_problem] if version_problem else []
    report.problems[:0] = early + migration.problems
    # A key that a migration could not convert is an error, so it is not also warned about as unknown.
    invalid = {problem.key for problem in report.problems}
    report.unknown = [problem for problem in report.unknown if problem.key not in invalid]
    return LoadedConfig(location, text, document, style, migration, report)


def load_config(location: ConfigLocation | None = None) -> LoadedConfig:
    """Load the config file at ``location`` (by default the one in use).

    A missing default file means built-in defaults. A missing file that was
    named with --config or $ILAB_CONFIG raises NotFoundError, because it is
    most likely a typing mistake.
    """
    location = location or locate_config()
    text = read_text(location.path)
    if text is None and location.explicit:
        raise NotFoundError(
            f"config file {location.path} not found (named by {location.source})",
            hint="check the path, or create the file with ilab config init",
            path=str(location.path),
        )
    return load_text(text, location)


def store_overrides(store_option: str | None = None) -> dict[str, Override]:
    """Return the values that the environment and the command line set over the file."""
    overrides = {}
    from_env = os.environ.get(STORE_ENV)
    if from_env:
        overrides["storage.root"] = Override(from_env, STORE_ENV)
    if store_option:
        overrides["storage.root"] = Override(store_option, "--store")
    return overrides


def configured_store_root(config_option: str | os.PathLike | None = None) -> Path | None:
    """Return the store folder that ``storage.root`` of the config names, or None when it names none.

    Only problems with that key, or a file that cannot be read, fail here;
    other invalid keys do not stop store commands.
    """
    location = locate_config(config_option)
    if not location.explicit and not location.path.exists():
        return None
    loaded = load_config(location)
    for problem in loaded.problems:
        if problem.key in ("storage", "storage.root"):
            raise ConfigError(
                problem.describe(loaded.source),
                hint="fix it with ilab config set storage.root DIR, or override it with --store",
                path=loaded.source,
                key=problem.key,
            )

    found, value = lookup(loaded.document, "storage.root")
    if not found or value is None:
        return None
    return Path(resolve_path(value, "storage.root", location.base_dir))


def check_text(text: str, location: ConfigLocation) -> tuple[list[str], list[str]]:
    """Return the errors and the warnings of a config text, each as a line that names the file and line."""
    try:
        loaded = load_text(text, location)
    except ConfigError as error:
        return [error.message], []
    return [problem.describe(loaded.source) for problem in loaded.problems], [problem.describe(loaded.source) for problem in loaded.unknown]
