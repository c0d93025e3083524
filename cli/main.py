"""The ``ilab`` entry point: global options, command groups and error handling.

Each command parses its arguments, makes one library call and formats the
result. Library modules are imported inside the commands, so ``--help`` and
listing stay fast.
"""

from __future__ import annotations

import logging
import signal
import sys
from typing import Optional

import typer

from . import config_cmd, data, evals, legacy, maintenance, model, remote
from .context import State
from .errors import debug_enabled, on_interrupt, report

app = typer.Typer(
    name="ilab",
    help="Store, list and reclaim InstructLab models, checkpoints, datasets and eval results.\n\n"
    "Example: ilab model add ./granite-7b-base --name granite-7b-base",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    # Plain click help and usage errors: typer's rich format would import rich,
    # markdown_it and pygments for every --help. Each sub-app sets it too.
    rich_markup_mode=None,
)
model.app.command("pull")(remote.pull)
model.app.command("push")(remote.push)
model.app.command("export")(remote.export)
model.app.command("import")(remote.import_artifact)
app.add_typer(model.app, name="model")
app.add_typer(remote.lock_app, name="lock")
app.add_typer(config_cmd.app, name="config")
app.add_typer(data.app, name="data")
app.add_typer(evals.app, name="eval")
maintenance.register(app)
app.command("migrate-legacy")(legacy.migrate_legacy)

list_app = typer.Typer(help="List artifacts by kind (aliases of the per-kind list commands).\n\nExample: ilab list models", no_args_is_help=True, rich_markup_mode=None)
list_app.command("models", help="List models; same as 'ilab model list'.\n\nExample: ilab list models --wide")(model.list_models)
list_app.command("datasets", help="List datasets; same as 'ilab data list'.\n\nExample: ilab list datasets skills")(data.list_datasets)
list_app.command("evals", help="List eval results; same as 'ilab eval list'.\n\nExample: ilab list evals --metric MMLU")(evals.list_evals)
app.add_typer(list_app, name="list")


def _version(value: bool) -> None:
    if value:
        from ilabfs import __version__

        typer.echo(f"ilab (ilabfs) {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    store: Optional[str] = typer.Option(
        None, "--store", metavar="DIR", help="Store folder to use instead of $ILABFS_STORE, storage.root of the config, or <data dir>/store."
    ),
    config: Optional[str] = typer.Option(
        None, "--config", metavar="FILE", help="Config file to use instead of $ILAB_CONFIG or <config dir>/config.yaml."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what the library does to stderr."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Store, list and reclaim InstructLab artifacts by content digest."""
    ctx.obj = State(store, config)
    level = logging.WARNING
    if verbose:
        level = logging.INFO
    if debug_enabled():
        level = logging.DEBUG
    logging.basicConfig(level=level, format="ilab: %(message)s", stream=sys.stderr)


def run() -> None:
    """Run the CLI; map every expected failure to a message and a stable exit code."""
    signal.signal(signal.SIGINT, on_interrupt)
    try:
        app(prog_name="ilab")
    except SystemExit:
        raise
    except BaseException as error:  # noqa: BLE001 - report() re-raises what it does not map
        if debug_enabled():
            import traceback

            traceback.print_exc()
        sys.exit(report(error))


if __name__ == "__main__":
    run()
