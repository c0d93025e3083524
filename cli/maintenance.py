"""Store-wide commands: ``ilab gc``, ``ilab df`` and ``ilab fsck``."""

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
    if empty_or_missing(ctx):
        blobs, staging, to_free, freed = 0, 0, 0, 0
    else:
        from ilabfs import gc as collector

        plan, freed = collector.collect(open_store(ctx).layout, dry_run=dry_run)
        blobs, staging, to_free = len(plan.blobs), len(plan.staging), plan.bytes_freed
    if json_output:
        output.emit_json({"dryRun": dry_run, "blobs": blobs, "stagingFolders": staging, "bytesToFree": to_free, "bytesFreed": freed})
        return
    verb = "Would remove" if dry_run else "Removed"
    amount = to_free if dry_run else freed
    typer.echo(f"{verb} {output.count(blobs, 'blob')} and {output.count(staging, 'staging folder')}, {output.size(amount)}")


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
        result = usage(store.layout, store.index(with_blobs=True))
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


def fsck(
    ctx: typer.Context,
    fast: bool = typer.Option(False, "--fast", help="Check blob existence and sizes only; do not rehash contents."),
    repair: bool = typer.Option(False, "--repair", help="Move damaged blobs to quarantine/ (never delete) and list what to add again."),
    rebuild_index: bool = typer.Option(
        False, "--rebuild-index", help="First rewrite the index's blob lists, sizes and listing rows from the manifests; recover a lost index."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print every problem as JSON."),
) -> None:
    """Check every blob, manifest, config document and index entry; report every problem found.

    Exits 0 when nothing is damaged (warnings and garbage that gc reclaims are reported
    but do not count), and 8 otherwise.

    Example: ilab fsck --fast
    """
    from ilabfs import fsck as checker
    from ilabfs.errors import CorruptStoreError

    store = open_store(ctx)
    rebuilt = None
    if rebuild_index:
        from ilabfs.rebuild import rebuild_index as rebuild

        rebuilt = rebuild(store.layout)
        if not json_output:
            _print_rebuild(rebuilt)
    report = checker.check(store.layout, fast=fast)
    repaired = checker.repair(store.layout, report) if repair else None
    if json_output:
        document = {
            "clean": report.clean,
            "blobsChecked": report.blobs_checked,
            "artifactsChecked": report.artifacts_checked,
            "bytesHashed": report.bytes_hashed,
            "problems": [problem.to_json() for problem in report.problems],
        }
        if rebuilt:
            document["rebuild"] = {
                "refreshed": rebuilt.refreshed,
                "recovered": rebuilt.recovered,
                "unchanged": rebuilt.unchanged,
                "broken": list(rebuilt.broken),
                "savedIndex": rebuilt.saved_index,
            }
        if repaired:
            document["repair"] = {
                "quarantined": list(repaired.quarantined),
                "quarantineFolder": repaired.folder,
                "madeReadOnly": list(repaired.fixed_modes),
                "toReAdd": list(repaired.to_readd),
            }
        output.emit_json(document)
    else:
        _print_report(report, repaired)
    if not report.clean:
        raise CorruptStoreError(
            f"fsck found {output.count(len(report.errors), 'error')} in {store.root}",
            hint=_fsck_hint(report, repair),
        )


def _fsck_hint(report, repair: bool) -> str:
    """Name the command that fixes what was found: the index is rebuilt, damaged blobs are re-added."""
    codes = {problem.code for problem in report.errors}
    if codes and codes <= {"index-mismatch", "index-unreadable"}:
        return "run ilab fsck --rebuild-index, which rewrites the index from the manifests"
    if repair:
        return "add or pull the listed artifacts again"
    return "add or pull the affected artifacts again after ilab fsck --repair"


def _print_rebuild(rebuilt) -> None:
    if rebuilt.saved_index:
        typer.echo(f"The index could not be read; moved it to {rebuilt.saved_index}")
    typer.echo(
        f"Rebuilt the index: {rebuilt.refreshed} {'entry' if rebuilt.refreshed == 1 else 'entries'} rewritten, "
        f"{rebuilt.unchanged} unchanged, {rebuilt.recovered} recovered without a name"
    )
    for label in rebuilt.broken:
        typer.echo(f"Kept as it was (its manifest or config cannot be read): {label}")


def _print_report(report, repaired) -> None:
    for problem in report.problems:
        affects = f" (affects {', '.join(problem.affects)})" if problem.affects else ""
        typer.echo(f"{problem.severity}: {problem.message}{affects}")
    hashed = f", {output.size(report.bytes_hashed)} hashed" if report.bytes_hashed else ""
    typer.echo(
        f"Checked {output.count(report.blobs_checked, 'blob')} and {output.count(report.artifacts_checked, 'artifact')}{hashed}: "
        f"{output.count(len(report.errors), 'error')}, "
        f"{output.count(sum(p.severity == 'garbage' for p in report.problems), 'item')} of garbage"
    )
    if repaired:
        if repaired.quarantined:
            typer.echo(f"Moved {output.count(len(repaired.quarantined), 'damaged blob')} to {repaired.folder}")
        if repaired.fixed_modes:
            typer.echo(f"Made {output.count(len(repaired.fixed_modes), 'blob')} read-only again")
        for label in repaired.to_readd:
            typer.echo(f"Add or pull again: {label}")


def register(app: typer.Typer) -> None:
    app.command("gc")(gc)
    app.command("df")(df)
    app.command("fsck")(fsck)
