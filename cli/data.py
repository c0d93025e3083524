"""``ilab data``: add, list, inspect, path and delete datasets."""

from __future__ import annotations

from typing import List, Optional

import typer

from . import output
from .context import empty_or_missing, open_store
from .model import delete_artifacts, link_label, materialize_view, print_added, render_details

app = typer.Typer(help="Manage generated training datasets.\n\nExample: ilab data list skills", no_args_is_help=True, rich_markup_mode=None)


@app.command("add")
def add(
    ctx: typer.Context,
    paths: List[str] = typer.Argument(..., metavar="PATH...", help="Training JSONL files, or one 'ilab data generate' output folder."),
    name: str = typer.Option(..., "--name", "-n", metavar="NAME[:TAG]", help="Name to give the dataset; the tag defaults to latest."),
    dataset_type: str = typer.Option(..., "--type", metavar="knowledge|skills", help="Kind of data; picks the matching files of a generate folder."),
    phase: Optional[str] = typer.Option(None, "--phase", metavar="PHASE", help="Training phase the data feeds (default from the SDG file name: phase07 or phase10)."),
    teacher: Optional[str] = typer.Option(None, "--teacher", metavar="REF", help="Teacher model: a stored model's ref, or any name."),
    test: Optional[List[str]] = typer.Option(None, "--test", metavar="FILE", help="A test split file; repeat for several."),
    force: bool = typer.Option(False, "--force", help="Move NAME[:TAG] here even if another dataset has it."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the dataset ID."),
) -> None:
    """Validate and add one dataset; from a generate folder only the real training files are kept.

    Example: ilab data add ~/.local/share/instructlab/datasets/2025-01-14_100211 --type skills --name skills-0114
    """
    from ilabfs.datasets import add_dataset

    store = open_store(ctx, create=True)
    bar = output.ProgressBar(f"Adding {name}", enabled=not (quiet or json_output))
    try:
        result = add_dataset(store, paths, name, dataset_type=dataset_type, phase=phase, teacher=teacher, test=test, force=force, progress=bar)
    finally:
        bar.close()
    print_added(result, json_output, quiet)


@app.command("list")
def list_datasets(
    ctx: typer.Context,
    selector: Optional[str] = typer.Argument(None, metavar="[knowledge|skills|PHASE]", help="Only this type, or only this phase."),
    wide: bool = typer.Option(False, "--wide", "-w", help="Add the full digest, exclusive size and view path."),
    json_output: bool = typer.Option(False, "--json", help="Print the stable JSON schema described in docs/cli.md."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only dataset IDs."),
) -> None:
    """List the datasets in the store, newest first.

    Example: ilab data list knowledge
    """
    listing = _listing(ctx, "dataset", wide, dataset_type=selector if selector in ("knowledge", "skills") else None,
                       phase=selector if selector and selector not in ("knowledge", "skills") else None)
    if json_output:
        output.emit_json(listing)
        return
    if quiet:
        typer.echo("\n".join(item["id"] for item in listing["artifacts"]))
        return
    headers = ["DATASET ID", "NAME", "PHASE TYPE", "SIZE", "NUM SAMPLES", "TEACHER MODEL", "CREATED"]
    rows = []
    for item in listing["artifacts"]:
        rows.append([
            item["id"],
            ", ".join(item["names"]) or "<none>",
            " ".join(part for part in (item["phase"], item["type"]) if part) or "-",
            output.size(item["size"]),
            f"{item['samples']:,}" if item["samples"] is not None else "-",
            link_label(item["teacher"]),
            output.age(item["created"]),
        ])
        if wide:
            rows[-1] += [output.size(item["exclusiveSize"]), item["digest"], item["path"]]
    if wide:
        headers += ["EXCLUSIVE", "DIGEST", "PATH"]
    total = listing["total"]
    typer.echo(output.table(headers, rows) + f"\n{output.count(total['count'], 'dataset')}, {output.size(total['storedSize'])} stored")


def _listing(ctx: typer.Context, kind: str, wide: bool, **filters) -> dict:
    if empty_or_missing(ctx):
        return {"schemaVersion": 1, "artifacts": [], "total": {"count": 0, "logicalSize": 0, "storedSize": 0}}
    from ilabfs.catalog import list_artifacts

    return list_artifacts(open_store(ctx), kind, wide=wide, **filters)


@app.command("inspect")
def inspect(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="REF", help="Name[:tag], digest or unique digest prefix."),
    json_output: bool = typer.Option(False, "--json", help="Print everything as JSON, including the manifest."),
) -> None:
    """Show a dataset's files, sample count, splits and teacher.

    Example: ilab data inspect skills-0114
    """
    from ilabfs.catalog import inspect_artifact

    details = inspect_artifact(open_store(ctx), "dataset", ref)
    if json_output:
        output.emit_json(details)
        return
    config = details["config"]
    extra = [f"Type:       {config.get('type')} ({config.get('phase') or 'no phase'})", f"Samples:    {config.get('samples'):,}"]
    teacher = details.get("teacher")
    if teacher:
        extra.append(f"Teacher:    {teacher['name'] or teacher['id']}")
    splits = config.get("splits", {})
    for split in ("train", "test", "recipes"):
        if splits.get(split):
            extra.append(f"{split.capitalize() + ':':<12}{', '.join(splits[split])}")
    typer.echo(render_details(details, extra))


@app.command("path")
def path(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="REF", help="Name[:tag], digest or unique digest prefix."),
    link: Optional[str] = typer.Option(None, "--link", metavar="KIND", help="Force one link kind: reflink, hardlink, symlink or copy."),
    into: Optional[str] = typer.Option(None, "--into", metavar="DIR", help="Build the folder in DIR (new or empty) instead of inside the store."),
) -> None:
    """Print a folder holding the dataset's files under their original names, ready for a trainer.

    Example: ilab model train --data-path "$(ilab data path skills-0114)"
    """
    typer.echo(materialize_view(ctx, "dataset", ref, link, into))


@app.command("delete")
def delete(
    ctx: typer.Context,
    refs: List[str] = typer.Argument(..., metavar="REF...", help="Datasets to delete: names remove that name, digests remove the dataset."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be removed and freed; change nothing."),
    force: bool = typer.Option(False, "--force", help="Delete even if checkpoints were trained with the dataset."),
    json_output: bool = typer.Option(False, "--json", help="Print the plan and result as JSON."),
) -> None:
    """Delete datasets and reclaim the blobs nothing else uses.

    Example: ilab data delete skills-0114 --dry-run
    """
    delete_artifacts(ctx, "dataset", refs, dry_run, force, json_output)
