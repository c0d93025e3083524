"""``ilab list``: aliases of the per-kind list commands."""

from __future__ import annotations

import typer

from . import data, evals, model

app = typer.Typer(help="List artifacts by kind (aliases of the per-kind list commands).\n\nExample: ilab list models", no_args_is_help=True, rich_markup_mode=None)
app.command("models", help="List models; same as 'ilab model list'.\n\nExample: ilab list models --wide")(model.list_models)
app.command("datasets", help="List datasets; same as 'ilab data list'.\n\nExample: ilab list datasets skills")(data.list_datasets)
app.command("evals", help="List eval results; same as 'ilab eval list'.\n\nExample: ilab list evals --metric MMLU")(evals.list_evals)
