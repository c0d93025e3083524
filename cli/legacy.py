"""``ilab migrate-legacy``: adopt an existing InstructLab installation into the store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from . import output
from .context import empty_or_missing, open_store

MODE_HELP = (
    "How files enter the store: link (default; a reflink, else a hardlink, so the legacy files stay where they are "
    "and hardlinked ones become read-only) or move (the legacy files are removed once each item is named)."
)


def migrate_legacy(
    ctx: typer.Context,
    data_dir: Optional[str] = typer.Option(
        None, "--data-dir", metavar="DIR", help="InstructLab data folder to read (default: ~/.local/share/instructlab on Linux, through platformdirs)."
    ),
    cache_dir: Optional[str] = typer.Option(
        None, "--cache-dir", metavar="DIR", help="InstructLab cache folder with models/ and oci/ (default: ~/.cache/instructlab on Linux)."
    ),
    legacy_config: Optional[str] = typer.Option(
        None, "--legacy-config", metavar="FILE", help="InstructLab config.yaml to infer lineage from (default: ~/.config/instructlab/config.yaml on Linux)."
    ),
    mode: str = typer.Option("link", "--mode", metavar="link|move", help=MODE_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; change nothing in the store or in the legacy folders."),
    json_output: bool = typer.Option(False, "--json", help="Print the plan or the result as JSON."),
) -> None:
    """Import the models, checkpoints, datasets and eval results of an InstructLab installation.

    Finds downloaded models, generate runs, accelerated and phased training
    checkpoints and eval results, infers their lineage from the legacy config
    and the phased-training journal, and adds each once. Running it again
    imports nothing new. See docs/migrate-legacy.md for what is found where.

    Example: ilab migrate-legacy --dry-run
    """
    from ilabfs.errors import InvalidInputError, NotFoundError
    from ilabfs.legacy import LegacyPaths, execute, plan_migration

    if mode not in ("link", "move"):
        raise InvalidInputError(f"invalid --mode {mode!r}", hint="use link or move", mode=mode)
    defaults = LegacyPaths.defaults()
    paths = LegacyPaths(
        _absolute(data_dir) if data_dir else defaults.data_dir,
        _absolute(cache_dir) if cache_dir else defaults.cache_dir,
        _absolute(legacy_config) if legacy_config else defaults.config_file,
    )
    if legacy_config and not paths.config_file.is_file():
        raise NotFoundError(f"legacy config {paths.config_file} does not exist", hint="check the --legacy-config path", path=str(paths.config_file))

    plan = plan_migration(paths)
    # A dry run must not create the store, so a missing one is read as empty.
    store = None if dry_run and empty_or_missing(ctx) else open_store(ctx, create=not dry_run)
    report = execute(store, plan, paths, mode=mode, dry_run=dry_run)

    document = report.to_json()
    if json_output:
        output.emit_json(document)
    else:
        typer.echo(render(document, paths))
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _absolute(text: str) -> Path:
    return Path(os.path.abspath(os.path.expanduser(text)))


def render(document: dict, paths) -> str:
    """Return the report as a table of items, then what was skipped, renamed or noted, then the totals."""
    lines = [
        f"Data folder:   {paths.data_dir}",
        f"Cache folder:  {paths.cache_dir}",
        f"Legacy config: {paths.config_file}",
        "",
    ]
    rows = [
        [item["status"] if item["status"] != "planned" else "to import", item["kind"], _label(item), item["id"] or "-", _short(item["source"], paths), _lineage(item)]
        for item in document["items"]
    ]
    if rows:
        lines.append(output.table(["STATUS", "KIND", "NAME", "ID", "SOURCE", "LINEAGE"], rows))

    sections = [
        ("Failed", [f"{_short(item['source'], paths)}: {item['error']}" for item in document["items"] if item["error"]]),
        ("Warnings", [f"{_short(item['source'], paths)}: {warning}" for item in document["items"] for warning in item["warnings"]]),
        ("Skipped", [f"{_short(item['path'], paths)}: {item['reason']}" for item in document["skipped"]]),
        ("Renamed", [f"{_short(item['source'], paths)}: {item['planned']} -> {item['chosen']} ({item['reason']})" for item in document["renamed"]]),
        ("Notes", list(document["notes"])),
    ]
    for title, entries in sections:
        if entries:
            lines += ["", f"{title}:"] + [f"  {entry}" for entry in entries]

    lines += ["", _totals(document)]
    return "\n".join(lines)


def _label(item: dict) -> str:
    if item["kind"] == "eval":
        from ilabfs.evals import format_score

        return f"{item['metric']} {format_score(item['metric'], item['score'])}"
    return item["name"] or "<none>"


def _lineage(item: dict) -> str:
    if item["kind"] == "model":
        parts = [
            f"base {item['baseModel']}" if item["baseModel"] else None,
            f"data {item['dataset']}" if item["dataset"] else None,
            item["phase"],
            f"step {item['step']}" if item["step"] is not None else None,
            f"run {item['run'][:8]}" if item["run"] else None,
        ]
    elif item["kind"] == "dataset":
        samples = f"{item['samples']:,} samples" if item["samples"] is not None else None
        parts = [item["type"], samples, f"teacher {item['teacher']}" if item["teacher"] else None]
    else:
        parts = [f"model {item['model'] or item['modelLabel']}", (item["date"] or "")[:10] or None]
    return ", ".join(part for part in parts if part) or "-"


def _short(path: str, paths) -> str:
    """Show a path relative to the data or cache folder it lies in, else as given."""
    for root in (paths.data_dir, paths.cache_dir):
        try:
            return Path(path).relative_to(root).as_posix()
        except ValueError:
            continue
    return path


def _totals(document: dict) -> str:
    counts = document["counts"]
    done = f"{counts['planned']} to import" if document["dryRun"] else f"{counts['imported']} imported"
    text = (
        f"{done}, {counts['present']} already present, {counts['skipped']} skipped, {counts['failed']} failed, "
        f"{counts['renamed']} renamed"
    )
    if document["dryRun"]:
        return text + " (dry run: nothing was changed)"
    return text + f"; {output.size(document['bytesRead'])} read, {output.size(document['bytesWritten'])} copied"
