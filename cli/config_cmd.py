"""``ilab config``: create, show, change, check and migrate the config file."""

from __future__ import annotations

import os
from typing import Optional

import typer

from .context import state

app = typer.Typer(
    help="Create, show, change, check and migrate the ilab config file.\n\nExample: ilab config show --resolved",
    no_args_is_help=True,
    rich_markup_mode=None,
)

KEY_HELP = "Dotted key, such as train.model_path or serve.server.port."
EDIT_CHOICES = ("e", "s", "d")


def _location(ctx: typer.Context):
    from ilabfs.config.paths import locate_config

    return locate_config(state(ctx).config_option)


def _overrides(ctx: typer.Context) -> dict:
    from ilabfs.config.loader import store_overrides

    return store_overrides(state(ctx).store_option)


def _warn(lines: list[str]) -> None:
    for line in lines:
        typer.echo(f"Warning: {line}", err=True)


def _warn_problems(loaded) -> None:
    _warn([problem.describe(loaded.source) for problem in loaded.problems + loaded.unknown])


def _format(value: object) -> str:
    """Format a value for scripts: scalars bare, null as an empty line, sections and lists as YAML."""
    from ilabfs.config.document import dump_value
    from ilabfs.config.render import bare_section

    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return dump_value(bare_section(value))
    if isinstance(value, list):
        return dump_value(value)
    return str(value)


@app.command("init")
def init(
    ctx: typer.Context,
    force: bool = typer.Option(False, "--force", help="Replace an existing file; the old one is kept beside it as <name>.<UTC time>.bak."),
) -> None:
    """Write a config file with every key at its default, each described in a comment.

    Example: ilab config init
    """
    from ilabfs.config.writer import init_config

    location = _location(ctx)
    saved = init_config(location, force)
    typer.echo(f"Wrote {location.path}")
    if saved:
        typer.echo(f"Saved the previous file as {saved}")


@app.command("show")
def show(
    ctx: typer.Context,
    resolved: bool = typer.Option(False, "--resolved", help="Print every path as it will be used: expanded, absolute, and refs resolved to the store's views."),
    key: Optional[str] = typer.Option(None, "--key", "-k", metavar="DOTTED.KEY", help="Print only this key or section."),
    comments: bool = typer.Option(False, "--comments", help="Put each key's description and default above it, instead of the file's comments."),
) -> None:
    """Print the config in effect: the file, defaults for missing keys, and the environment and options over it.

    Works on an invalid file: problems are printed as warnings on stderr, and a
    file with a YAML syntax error is printed as it is before the error.

    Example: ilab config show --resolved -k train
    """
    from ilabfs.config.document import dump
    from ilabfs.config.keys import key_for
    from ilabfs.config.render import bare_section, commented_document, commented_section, describe, effective_document, resolved_document

    location = _location(ctx)
    loaded = _load_or_print_raw(location)
    _warn_problems(loaded)
    if not loaded.exists:
        typer.echo(f"Note: {location.path} does not exist; these are the built-in defaults", err=True)

    overrides = _overrides(ctx)
    document = effective_document(loaded, overrides)
    if resolved:
        from ilabfs.config.resolve import resolve_values

        document = resolved_document(document, resolve_values(loaded, document, overrides, selection=key))

    if key is None:
        typer.echo(dump(commented_document(document, loaded.style.mapping) if comments else document, loaded.style), nl=False)
        return
    value = _select(document, key)
    if isinstance(value, dict):
        typer.echo(dump(commented_section(value, key, loaded.style.mapping) if comments else bare_section(value), loaded.style), nl=False)
        return
    known = key_for(key)
    if comments and known is not None:
        for line in describe(known).splitlines():
            typer.echo(f"# {line}")
    typer.echo(_format(value))


def _load_or_print_raw(location):
    """Load the config; when its YAML is invalid, print the raw text first so the user sees it."""
    from ilabfs.config.document import ConfigSyntaxError
    from ilabfs.config.loader import load_config, read_text

    try:
        return load_config(location)
    except ConfigSyntaxError:
        text = read_text(location.path) or ""
        typer.echo(text, nl=not text.endswith("\n") and bool(text))
        raise


def _select(document, key: str) -> object:
    from ilabfs.config.document import lookup
    from ilabfs.config.keys import CURRENT_VERSION
    from ilabfs.config.validation import close_key
    from ilabfs.errors import NotFoundError

    found, value = lookup(document, key)
    if not found:
        suggestion = close_key(key, CURRENT_VERSION)
        hint = f"did you mean {suggestion}? " if suggestion else ""
        raise NotFoundError(f"no key {key} in the config", hint=f"{hint}run ilab config show to see every key", key=key)
    return value


@app.command("get")
def get(
    ctx: typer.Context,
    key: str = typer.Argument(..., metavar="KEY", help=KEY_HELP),
    resolved: bool = typer.Option(False, "--resolved", help="Print the path as it will be used; a ref prints the store's view of it."),
) -> None:
    """Print the value of one key in effect; a section prints as YAML, an empty value as an empty line.

    Example: python train.py --model "$(ilab config get train.model_path --resolved)"
    """
    from ilabfs.config.loader import load_config
    from ilabfs.config.render import effective_document, resolved_document

    loaded = load_config(_location(ctx))
    loaded.raise_for_problems(selection=key)
    overrides = _overrides(ctx)
    document = effective_document(loaded, overrides)
    if resolved:
        from ilabfs.config.resolve import resolve_values

        document = resolved_document(document, resolve_values(loaded, document, overrides, selection=key))
    typer.echo(_format(_select(document, key)))


@app.command("set")
def set_(
    ctx: typer.Context,
    key: str = typer.Argument(..., metavar="KEY", help=KEY_HELP),
    value: str = typer.Argument(..., metavar="VALUE", help="New value, read as YAML: 8000 is a number, true a boolean, '' an empty value."),
) -> None:
    """Set one key in the file, checked against the schema and written atomically; comments are kept.

    Example: ilab config set train.model_path granite-7b-base:latest
    """
    from ilabfs.config.writer import set_value

    location = _location(ctx)
    result = set_value(location, key, value)
    created = " (created the file)" if result.created else ""
    typer.echo(f"Set {result.key} to {_format(result.new) or 'null'} in {result.path}{created}")
    _warn_unresolved_ref(ctx, location, key)


def _warn_unresolved_ref(ctx: typer.Context, location, key: str) -> None:
    """Warn when the value just set is a ref that does not resolve; the file keeps it, since the artifact may come later."""
    from ilabfs.config.keys import key_for
    from ilabfs.config.loader import load_config
    from ilabfs.config.render import effective_document
    from ilabfs.config.resolve import resolve_values
    from ilabfs.errors import IlabfsError

    known = key_for(key)
    if known is None or not known.accepts_ref:
        return
    try:
        loaded = load_config(location)
        overrides = _overrides(ctx)
        resolve_values(loaded, effective_document(loaded, overrides), overrides, selection=key, build_views=False)
    except IlabfsError as error:
        _warn([error.message])


@app.command("edit")
def edit(ctx: typer.Context) -> None:
    """Open the file in $EDITOR, check it when the editor exits, and save it with a backup of the old file.

    An invalid result offers to edit again, to save it anyway, or to discard
    it; a discarded text is kept beside the file. A missing file starts from
    the defaults.

    Example: EDITOR=nano ilab config edit
    """
    import tempfile
    from pathlib import Path

    from ilabfs.config.loader import read_text
    from ilabfs.config.writer import default_text, target_of

    location = _location(ctx)
    path = target_of(location)
    original = read_text(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".edit.yaml", dir=path.parent)
    draft = Path(name)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(original if original is not None else default_text())
    try:
        _edit_until_done(location, original, draft)
    finally:
        draft.unlink(missing_ok=True)


def _edit_until_done(location, original: str | None, draft) -> None:
    from ilabfs.config.loader import check_text

    while True:
        _run_editor(draft)
        text = draft.read_text(encoding="utf-8")
        if original is not None and text == original:
            typer.echo("No changes")
            return
        errors, warnings = check_text(text, location)
        _warn(warnings)
        if errors:
            for line in errors:
                typer.echo(f"Error: {line}", err=True)
            choice = _ask_after_errors()
            if choice == "e":
                continue
            if choice == "d":
                _discard(location, draft)
        _save(location, original, text, draft)
        return


def _ask_after_errors() -> str:
    """Ask what to do with an invalid edit; end of input (no terminal) means discard."""
    while True:
        try:
            answer = typer.prompt("[e]dit again, [s]ave anyway, or [d]iscard your changes?", default="e", err=True)
        except typer.Abort:
            return "d"
        choice = answer.strip().lower()[:1]
        if choice in EDIT_CHOICES:
            return choice


def _discard(location, draft) -> None:
    from ilabfs.errors import ConfigError

    kept = _keep_draft(location, draft)
    raise ConfigError(
        f"the edited config is invalid, so {location.path} was not changed",
        hint=f"your text is kept in {kept}; fix it with ilab config edit",
        path=str(location.path),
    )


def _save(location, original, text: str, draft) -> None:
    from ilabfs.config.writer import replace_config
    from ilabfs.errors import ConfigError

    try:
        saved = replace_config(location, original, text)
    except ConfigError as error:
        kept = _keep_draft(location, draft)
        raise ConfigError(error.message, hint=f"your text is kept in {kept}; {error.hint}", path=str(location.path)) from None
    typer.echo(f"Saved {location.path}")
    if saved:
        typer.echo(f"Saved the previous file as {saved}")


def _keep_draft(location, draft):
    import datetime

    from ilabfs.config.writer import target_of

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    kept = target_of(location).with_name(f"{location.path.name}.{stamp}.rejected.yaml")
    os.replace(draft, kept)
    return kept


def _run_editor(draft) -> None:
    import shlex
    import subprocess

    from ilabfs.errors import ConfigError, NotFoundError

    command = shlex.split(os.environ.get("EDITOR") or os.environ.get("VISUAL") or "vi")
    try:
        completed = subprocess.run([*command, str(draft)])
    except FileNotFoundError:
        raise NotFoundError(f"editor {command[0]!r} not found", hint="set $EDITOR to an editor command, such as nano or vim", editor=command[0]) from None
    if completed.returncode != 0:
        raise ConfigError(
            f"editor {command[0]!r} exited with code {completed.returncode}, so the config file was not changed",
            hint="run ilab config edit again",
            editor=command[0],
        )


@app.command("validate")
def validate(ctx: typer.Context) -> None:
    """Check the file against the schema and check that its refs resolve; list every problem with its line.

    Exits with 0 when the file is valid (unknown keys are warnings) and 12 when it is not.

    Example: ilab config validate
    """
    from ilabfs.config.keys import CURRENT_VERSION, KEYS
    from ilabfs.config.loader import load_config
    from ilabfs.config.render import effective_document
    from ilabfs.config.resolve import resolve_values
    from ilabfs.errors import ConfigError, IlabfsError

    location = _location(ctx)
    loaded = load_config(location)
    if not loaded.exists:
        typer.echo(f"{location.path} does not exist; the built-in defaults are valid")
        return

    errors = [problem.describe(loaded.source) for problem in loaded.problems]
    overrides = _overrides(ctx)
    document = effective_document(loaded, overrides)
    checked = {problem.key for problem in loaded.problems}
    for key in KEYS.values():
        if key.role and key.path not in checked:
            try:
                resolve_values(loaded, document, overrides, selection=key.path, build_views=False)
            except IlabfsError as error:
                errors.append(error.message)
    for problem in loaded.unknown:
        typer.echo(f"{problem.describe(loaded.source)} (warning)")
    for line in errors:
        typer.echo(line)

    if errors:
        count = len(errors)
        raise ConfigError(
            f"{count} problem{'s' if count > 1 else ''} in {location.path}",
            hint=f"fix {'them' if count > 1 else 'it'} with ilab config set or ilab config edit",
            path=str(location.path),
        )
    note = "" if loaded.file_version == CURRENT_VERSION else f"; the file is version {loaded.file_version}, which ilab config migrate updates"
    typer.echo(f"{location.path}: valid, config version {CURRENT_VERSION}{note}")


@app.command("migrate")
def migrate(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the change as a unified diff; change nothing."),
) -> None:
    """Rewrite the file in the newest format, after saving it beside itself as <name>.<UTC time>.bak.

    Example: ilab config migrate --dry-run
    """
    from ilabfs.config.keys import CURRENT_VERSION
    from ilabfs.config.writer import migrate_config

    location = _location(ctx)
    result = migrate_config(location, dry_run)
    _warn([problem.describe(str(location.path)) for problem in result.migration.problems])
    if not result.changed:
        typer.echo(f"{location.path} is already at config version {CURRENT_VERSION}; nothing to do")
        return
    if dry_run:
        typer.echo(result.diff, nl=False)
        return
    typer.echo(f"Migrated {location.path} from config version {result.migration.source_version} to {CURRENT_VERSION}")
    for change in result.migration.changes:
        typer.echo(f"  {change}")
    typer.echo(f"Saved the previous file as {result.backup}")


@app.command("path")
def path(ctx: typer.Context) -> None:
    """Print the path of the config file in use: --config, else $ILAB_CONFIG, else <config dir>/config.yaml.

    Example: ilab config path
    """
    location = _location(ctx)
    typer.echo(str(location.path))
    if not location.path.exists():
        typer.echo("Note: the file does not exist yet; ilab config init creates it", err=True)
