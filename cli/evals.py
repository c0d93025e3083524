"""``ilab eval``: add, list, inspect and clear eval results."""

from __future__ import annotations

import sys
from typing import List, Optional

import typer

from . import output
from .context import open_store
from .data import _listing
from .model import delete_artifacts, link_label, print_added, render_details

app = typer.Typer(help="Keep evaluation scores linked to the exact model they measured.\n\nExample: ilab eval list --metric MMLU", no_args_is_help=True, rich_markup_mode=None)


@app.command("add")
def add(
    ctx: typer.Context,
    model: str = typer.Argument(..., metavar="MODEL-REF", help="The evaluated model."),
    metric: Optional[str] = typer.Option(None, "--metric", metavar="METRIC", help="MMLU, MMLU-Branch, MT-Bench, MT-Bench-Branch, DK-Bench or your own name; read from --file when omitted."),
    score: Optional[float] = typer.Option(None, "--score", metavar="X", help="The score; read from --file when omitted."),
    files: Optional[List[str]] = typer.Option(None, "--file", metavar="RESULT", help="A result file to keep (summary JSON or per-question JSONL); repeat for several."),
    date: Optional[str] = typer.Option(None, "--date", metavar="ISO-8601", help="When the evaluation ran (default: read from the files, else now)."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the eval ID."),
) -> None:
    """Store an eval result linked to the model's digest, with the raw result files.

    Example: ilab eval add granite-ft:step-29008 --file mmlu_result.json
    """
    from ilabfs.evals import add_eval

    result = add_eval(open_store(ctx, create=True), model, metric=metric, score=score, files=files, date=date)
    print_added(result, json_output, quiet)


@app.command("list")
def list_evals(
    ctx: typer.Context,
    model: Optional[str] = typer.Option(None, "--model", metavar="REF", help="Only results of this model."),
    metric: Optional[str] = typer.Option(None, "--metric", metavar="METRIC", help="Only results of this metric."),
    wide: bool = typer.Option(False, "--wide", "-w", help="Add the full digest and exclusive size."),
    json_output: bool = typer.Option(False, "--json", help="Print the stable JSON schema described in docs/cli.md."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only eval IDs."),
) -> None:
    """List eval results, newest first.

    Example: ilab eval list --model granite-ft:step-29008
    """
    from ilabfs.evals import canonical_metric, format_score

    listing = _listing(ctx, "eval", wide, model=model, metric=canonical_metric(metric) if metric else None)
    if json_output:
        output.emit_json(listing)
        return
    if quiet:
        typer.echo("\n".join(item["id"] for item in listing["artifacts"]))
        return
    headers = ["EVAL ID", "MODEL REF", "BASE MODEL", "EVAL SCORE", "METRIC", "EVAL DATE"]
    rows = []
    for item in listing["artifacts"]:
        rows.append([
            item["id"],
            link_label(item["model"]),
            link_label(item["baseModel"]),
            format_score(item["metric"], item["score"]),
            item["metric"],
            (item["date"] or item["created"])[:10],
        ])
        if wide:
            rows[-1] += [output.size(item["exclusiveSize"]), item["digest"]]
    if wide:
        headers += ["EXCLUSIVE", "DIGEST"]
    typer.echo(output.table(headers, rows) + f"\n{output.count(listing['total']['count'], 'result')}")


@app.command("inspect")
def inspect(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="EVAL-REF", help="Digest prefix or name of the result."),
    json_output: bool = typer.Option(False, "--json", help="Print everything as JSON, including the manifest."),
) -> None:
    """Show an eval result: metric, score, the model it measured and its files.

    Example: ilab eval inspect 3f2a
    """
    from ilabfs.catalog import inspect_artifact
    from ilabfs.evals import format_score

    details = inspect_artifact(open_store(ctx), "eval", ref)
    if json_output:
        output.emit_json(details)
        return
    extra = [f"Metric:     {details['metric']}", f"Score:      {format_score(details['metric'], details['score'])}"]
    if details.get("date"):
        extra.append(f"Eval date:  {details['date']}")
    typer.echo(render_details(details, extra))


@app.command("clear")
def clear(
    ctx: typer.Context,
    refs: Optional[List[str]] = typer.Argument(None, metavar="[EVAL-REF...]", help="Results to delete; all of them when none is given."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be removed; change nothing."),
    json_output: bool = typer.Option(False, "--json", help="Print the plan and result as JSON."),
) -> None:
    """Delete eval results: the given ones, or all after a confirmation.

    Example: ilab eval clear --yes
    """
    from ilabfs.errors import InvalidInputError

    store = open_store(ctx)
    targets = list(refs or [])
    if not targets:
        targets = [entry.digest for entry in store.index().of_kind("eval")]
        if not targets:
            typer.echo("No eval results to clear")
            return
        if not (yes or dry_run):
            if not sys.stdin.isatty():
                raise InvalidInputError(
                    f"clearing all {len(targets)} eval results needs confirmation",
                    hint="pass --yes to confirm without a terminal",
                )
            typer.confirm(f"Delete all {output.count(len(targets), 'eval result')}?", abort=True)
        targets = [f"blake3:{digest}" for digest in targets]
    delete_artifacts(ctx, "eval", targets, dry_run, False, json_output)
