"""``ilab model``: add, list, inspect, path and delete model artifacts."""

from __future__ import annotations

from typing import List, Optional

import typer

from . import output, remote
from .context import empty_or_missing, open_store

app = typer.Typer(
    help="Manage base models and training checkpoints.\n\nExample: ilab model list --wide",
    no_args_is_help=True,
    rich_markup_mode=None,
)

MODE_HELP = (
    "How files enter the store: copy (default); link (reflink, else hardlink: hardlinked source files "
    "become read-only because they are the blobs); move (the sources are removed once the model is named)."
)


@app.command("add")
def add(
    ctx: typer.Context,
    path: str = typer.Argument(..., metavar="PATH", help="Model directory (Hugging Face layout) or single file."),
    name: str = typer.Option(..., "--name", "-n", metavar="NAME[:TAG]", help="Name to give the model; the tag defaults to latest."),
    base: Optional[str] = typer.Option(None, "--base", metavar="REF", help="Base model this checkpoint was trained from."),
    dataset: Optional[str] = typer.Option(None, "--dataset", metavar="REF", help="Dataset this checkpoint was trained with."),
    phase: Optional[str] = typer.Option(None, "--phase", metavar="PHASE", help="Training phase that produced this checkpoint."),
    step: Optional[int] = typer.Option(None, "--step", metavar="N", help="Training step or samples seen at this checkpoint."),
    run: Optional[str] = typer.Option(None, "--run", metavar="RUN", help="Training run this checkpoint belongs to."),
    mode: str = typer.Option("copy", "--mode", metavar="copy|link|move", help=MODE_HELP),
    force: bool = typer.Option(False, "--force", help="Move NAME[:TAG] here even if another model has it."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the model ID."),
) -> None:
    """Add a model directory to the store and name it.

    Example: ilab model add ./checkpoints/samples_29008 --name granite-ft:step-29008 --base granite-7b-base --dataset skills
    """
    from ilabfs.errors import InvalidInputError
    from ilabfs.models import add_model

    if mode not in ("copy", "link", "move"):
        raise InvalidInputError(f"invalid --mode {mode!r}", hint="use copy, link or move", mode=mode)
    store = open_store(ctx, create=True)
    bar = output.ProgressBar(f"Adding {name}", enabled=not (quiet or json_output))
    try:
        result = add_model(
            store, path, name, mode=mode, base=base, dataset=dataset, phase=phase, step=step, run=run, force=force, progress=bar
        )
    finally:
        bar.close()
    print_added(result, json_output, quiet)


def print_added(result, json_output: bool, quiet: bool) -> None:
    from ilabfs.digest import format_digest

    stats = result.stats
    if json_output:
        output.emit_json(
            {
                "id": result.id,
                "digest": format_digest(result.digest),
                "name": result.name,
                "new": result.new,
                "files": stats.files,
                "filesReused": stats.reused,
                "hashCacheHits": stats.cache_hits,
                "bytesRead": stats.bytes_read,
                "bytesWritten": stats.bytes_written,
                "linkKinds": stats.link_kinds,
            }
        )
    elif quiet:
        typer.echo(result.id)
    else:
        state = "Added" if result.new else "Already stored"
        label = f"{result.name} as {result.id}" if result.name else f"{result.kind} {result.id}"
        typer.echo(
            f"{state} {label}: {output.count(stats.files, 'file')}, {stats.reused} already in the store, "
            f"{output.size(stats.bytes_written)} written"
        )


def list_models(
    ctx: typer.Context,
    wide: bool = typer.Option(False, "--wide", "-w", help="Add the full digest, exclusive size and view path."),
    show_paths: bool = typer.Option(False, "--show-paths", help="Same as --wide."),
    json_output: bool = typer.Option(False, "--json", help="Print the stable JSON schema described in docs/cli.md."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only model IDs."),
    base: Optional[str] = typer.Option(None, "--base", metavar="REF", help="Only checkpoints of this base model."),
    phase: Optional[str] = typer.Option(None, "--phase", metavar="PHASE", help="Only checkpoints of this training phase."),
    run: Optional[str] = typer.Option(None, "--run", metavar="RUN", help="Only checkpoints of this training run."),
) -> None:
    """List the models in the store, newest first.

    Example: ilab model list --phase phase2 --wide
    """
    wide = wide or show_paths
    if empty_or_missing(ctx):
        listing = {"schemaVersion": 1, "artifacts": [], "total": {"count": 0, "logicalSize": 0, "storedSize": 0}}
    else:
        from ilabfs.catalog import list_artifacts

        listing = list_artifacts(open_store(ctx), "model", base=base, phase=phase, run=run, wide=wide)
    if json_output:
        output.emit_json(listing)
        return
    if quiet:
        for item in listing["artifacts"]:
            typer.echo(item["id"])
        return
    typer.echo(_model_table(listing, wide))


def _model_table(listing: dict, wide: bool) -> str:
    headers = ["MODEL ID", "NAME", "BASE MODEL", "SIZE", "DATA TYPE", "DATASET TRAINED WITH", "CREATED"]
    if wide:
        headers += ["EXCLUSIVE", "DIGEST", "PATH"]
    rows = []
    for item in listing["artifacts"]:
        values = [
            item["id"],
            ", ".join(item["names"]) or "<none>",
            link_label(item["baseModel"]),
            output.size(item["size"]),
            item["dataType"] or "-",
            link_label(item["dataset"]),
            output.age(item["created"]),
        ]
        if wide:
            values += [output.size(item["exclusiveSize"]), item["digest"], item["path"]]
        rows.append(values)
    total = listing["total"]
    footer = (
        f"{output.count(total['count'], 'model')}, {output.size(total['logicalSize'])} of files, "
        f"{output.size(total['storedSize'])} stored (shared files counted once)"
    )
    return output.table(headers, rows) + "\n" + footer


def link_label(link: dict | None) -> str:
    if not link:
        return "-"
    if link["missing"]:
        return f"{link['id']} (missing)"
    return link["name"] or link["id"]


app.command("list")(list_models)


@app.command("inspect")
def inspect(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="REF", help="Name[:tag], digest or unique digest prefix."),
    json_output: bool = typer.Option(False, "--json", help="Print everything as JSON, including the manifest."),
) -> None:
    """Show a model's files, digests, data type and lineage.

    Example: ilab model inspect granite-7b-base
    """
    from ilabfs.catalog import inspect_artifact

    details = inspect_artifact(open_store(ctx), "model", ref)
    if json_output:
        output.emit_json(details)
        return
    typer.echo(render_details(details))


def render_details(details: dict, extra: list[str] | None = None) -> str:
    lines = [
        f"ID:         {details['id']}",
        f"Digest:     {details['digest']}",
        f"Names:      {', '.join(details['names']) or '<none>'}",
        f"Created:    {details['created']}",
        f"Size:       {output.size(details['size'])} in {output.count(len(details['fileList']), 'file')} "
        f"({output.size(details['exclusiveSize'])} held by no other artifact)",
    ]
    lines += extra or []
    if details.get("dataType"):
        lines.append(f"Data type:  {details['dataType']} ({details.get('format')})")
    for label, key in (("Base model", "baseModel"), ("Dataset", "dataset"), ("Model", "subject")):
        if isinstance(details.get(key), dict) and details[key].get("id"):
            link = details[key]
            lines.append(f"{label + ':':<12}{link_label(link)} [{link['digest']}]")
    for label, key in (("Phase", "phase"), ("Step", "step"), ("Run", "run")):
        if details.get(key) is not None:
            lines.append(f"{label + ':':<12}{details[key]}")
    if details["dependents"]:
        names = ", ".join(f"{d['id']} ({d['name'] or '<none>'})" for d in details["dependents"])
        lines.append(f"Used by:    {names}")
    lines.append("Files:")
    rows = [[f["path"], output.size(f["size"]), f["digest"]] for f in details["fileList"]]
    lines.append("  " + output.table(["PATH", "SIZE", "DIGEST"], rows).replace("\n", "\n  "))
    return "\n".join(lines)


@app.command("path")
def path(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="REF", help="Name[:tag], digest or unique digest prefix."),
    link: Optional[str] = typer.Option(
        None, "--link", metavar="KIND", help="Force one link kind: reflink, hardlink, symlink or copy (default: the first that works)."
    ),
    into: Optional[str] = typer.Option(None, "--into", metavar="DIR", help="Build the view in DIR (new or empty) instead of inside the store."),
) -> None:
    """Print a folder holding the model's files under their original names.

    The folder loads with transformers' from_pretrained. Files are reflinks,
    hardlinks, symlinks or copies, in that order of preference; hardlinked
    files share the blob, so never make them writable (see docs/cli.md).

    Example: python train.py --model "$(ilab model path granite-7b-base)"
    """
    typer.echo(materialize_view(ctx, "model", ref, link, into))


def materialize_view(ctx: typer.Context, kind: str, ref: str, link: str | None, into: str | None) -> str:
    import os
    from pathlib import Path

    from ilabfs.errors import InvalidInputError
    from ilabfs.views import LINK_KINDS, materialize

    if link and link not in LINK_KINDS:
        raise InvalidInputError(f"invalid --link {link!r}", hint=f"use one of {', '.join(LINK_KINDS)}", link=link)
    store = open_store(ctx)
    entry = store.resolve(kind, ref)
    manifest = store.read_manifest(entry.digest)
    # abspath, not resolve: a symlink given as the target is replaced, never followed.
    target = Path(os.path.abspath(into)) if into else None
    folder, _ = materialize(store.layout, manifest, entry.digest, target, link)
    return str(folder)


@app.command("delete")
def delete(
    ctx: typer.Context,
    refs: List[str] = typer.Argument(..., metavar="REF...", help="Models to delete: names remove that name, digests remove the model."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be removed and freed; change nothing."),
    force: bool = typer.Option(False, "--force", help="Delete even if checkpoints name the model as their base."),
    json_output: bool = typer.Option(False, "--json", help="Print the plan and result as JSON."),
) -> None:
    """Delete models and reclaim the blobs nothing else uses.

    Example: ilab model delete granite-ft:step-100 --dry-run
    """
    delete_artifacts(ctx, "model", refs, dry_run, force, json_output)


def delete_artifacts(ctx: typer.Context, kind: str, refs: list[str], dry_run: bool, force: bool, json_output: bool) -> None:
    from ilabfs.deletion import execute_delete, preview_delete
    from ilabfs.digest import short_id

    store = open_store(ctx)
    if dry_run:
        plan, freed = preview_delete(store, kind, refs, force), 0
    else:
        plan, freed = execute_delete(store, kind, refs, force)
    if json_output:
        output.emit_json(
            {
                "dryRun": dry_run,
                "untagged": [name for _, name in plan.untag],
                "deleted": [{"id": short_id(e.digest), "names": e.names} for e in plan.remove],
                "blobs": len(plan.blobs),
                "bytesToFree": plan.bytes_freed,
                "bytesFreed": freed or 0,
                "reclaimDeferred": freed is None,
                "danglingDependents": [short_id(d.dependent.digest) for d in plan.dependents],
            }
        )
        return
    verb = "Would " if dry_run else ""
    for _, name in plan.untag:
        typer.echo(f"{verb}untag {name}" if dry_run else f"Untagged {name}")
    for entry in plan.remove:
        label = ", ".join(entry.names) or "<none>"
        typer.echo(f"{verb}delete {short_id(entry.digest)} ({label})" if dry_run else f"Deleted {short_id(entry.digest)} ({label})")
    for dependent in plan.dependents:
        keep = "Would keep" if dry_run else "Kept"
        typer.echo(f"{keep} {short_id(dependent.dependent.digest)} with its parent {short_id(dependent.target)} missing")
    if freed is None:
        typer.echo(f"Left {output.size(plan.bytes_freed)} in {output.count(len(plan.blobs), 'blob')} for ilab gc to reclaim")
        return
    amount = plan.bytes_freed if dry_run else freed
    typer.echo(f"{'Would free' if dry_run else 'Freed'} {output.size(amount)} in {output.count(len(plan.blobs), 'blob')}")


@app.command("lineage")
def lineage(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="REF", help="Any model of the family: a base model or one of its checkpoints."),
    json_output: bool = typer.Option(False, "--json", help="Print the tree as nested JSON."),
) -> None:
    """Print the tree from the base model through training phases to checkpoints, with eval scores.

    Example: ilab model lineage granite-ft:step-29008
    """
    from ilabfs.lineage import lineage as build

    tree = build(open_store(ctx).index(), ref)
    if json_output:
        import sys

        # The JSON encoder recurses once per level of nesting, and lineage chains can be long.
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 100_000))
        output.emit_json(tree)
        return
    typer.echo("\n".join(_tree_lines(tree)))


def _tree_lines(root: dict) -> list[str]:
    """Render the tree with box-drawing prefixes, iteratively so any depth works."""
    lines = [_node_text(root)]
    stack = [(child, "", index == len(root["children"]) - 1) for index, child in reversed(list(enumerate(root["children"])))]
    while stack:
        node, prefix, last = stack.pop()
        lines.append(f"{prefix}{'└── ' if last else '├── '}{_node_text(node)}")
        child_prefix = prefix + ("    " if last else "│   ")
        count = len(node["children"])
        for index in reversed(range(count)):
            stack.append((node["children"][index], child_prefix, index == count - 1))
    return lines


def _node_text(node: dict) -> str:
    from ilabfs.evals import format_score

    label = f"{node['id']} (missing)" if node["missing"] else f"{node['name'] or '<none>'} ({node['id']})"
    details = []
    if node["phase"]:
        details.append(node["phase"])
    if node["step"] is not None:
        details.append(f"step {node['step']}")
    if node["run"]:
        details.append(f"run {node['run']}")
    if node["dataset"]:
        data = node["dataset"]
        details.append(f"data {data['id'] + ' (missing)' if data['missing'] else data['name'] or data['id']}")
    scores = ", ".join(f"{e['metric']} {format_score(e['metric'], e['score'])}" for e in node["evals"])
    text = label + (f"  [{', '.join(details)}]" if details else "") + (f"  {scores}" if scores else "")
    if node["focus"]:
        text += "  <="
    return text


# The registry and layout commands live in remote.py next to ilab lock. They
# are registered last, so help lists them after the local commands.
app.command("pull")(remote.pull)
app.command("push")(remote.push)
app.command("export")(remote.export)
app.command("import")(remote.import_artifact)
