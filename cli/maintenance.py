"""Store-wide commands: ``ilab gc`` and ``ilab df``."""

from __future__ import annotations

import typer

from . import output
from .context import empty_or_missing, open_store


def gc(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be removed; change nothing."),
    json_output: bool = typer.Option(False, "--json", help="Print the plan and result as JSON."),
) -> None:
    """Remove blobs no artifact references and abandoned staging folders.

    Safe while other ilab commands run: blobs of an add still in progress are kept.

    Example: ilab gc --dry-run
    """
    from ilabfs import gc as collector

    store = open_store(ctx)
    plan, freed = collector.collect(store.layout, dry_run=dry_run)
    if json_output:
        output.emit_json(
            {"dryRun": dry_run, "blobs": len(plan.blobs), "stagingFolders": len(plan.staging), "bytesToFree": plan.bytes_freed, "bytesFreed": freed}
        )
        return
    verb = "Would remove" if dry_run else "Removed"
    amount = plan.bytes_freed if dry_run else freed
    typer.echo(f"{verb} {len(plan.blobs)} blobs and {len(plan.staging)} staging folders, {output.size(amount)}")


def df(
    ctx: typer.Context,
    json_output: bool = typer.Option(False, "--json", help="Print the figures in bytes as JSON."),
) -> None:
    """Show the store's logical size, bytes on disk, dedup savings and reclaimable bytes.

    Example: ilab df
    """
    if empty_or_missing(ctx):
        figures = {"artifacts": 0, "logicalSize": 0, "storedSize": 0, "referencedSize": 0, "savedByDedup": 0, "reclaimable": 0, "blobs": 0}
    else:
        from ilabfs.usage import usage

        store = open_store(ctx)
        result = usage(store.layout, store.index())
        figures = {
            "artifacts": result.artifacts,
            "logicalSize": result.logical,
            "storedSize": result.stored,
            "referencedSize": result.referenced,
            "savedByDedup": result.saved,
            "reclaimable": result.reclaimable,
            "blobs": result.blob_count,
        }
    if json_output:
        output.emit_json(figures)
        return
    rows = [
        ["Artifacts", str(figures["artifacts"])],
        ["Logical size", output.size(figures["logicalSize"])],
        ["Stored (blobs/)", output.size(figures["storedSize"])],
        ["Saved by dedup", output.size(figures["savedByDedup"])],
        ["Reclaimable by gc", output.size(figures["reclaimable"])],
    ]
    typer.echo(output.table(["", ""], rows).split("\n", 1)[1])


def register(app: typer.Typer) -> None:
    app.command("gc")(gc)
    app.command("df")(df)
