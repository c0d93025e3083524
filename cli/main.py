"""The ``ilab`` entry point: global options, command groups and error handling.

Each command parses its arguments, makes one library call and formats the
result. Library modules are imported inside the commands, and each command
group's module when the group is first used, so ``--help`` and listing stay
fast.
"""

from __future__ import annotations

import signal
import sys
from typing import Optional

import typer

from . import legacy, maintenance
from .context import State
from .errors import debug_enabled, on_interrupt, report
from .lazy import LazyGroup


class IlabGroup(LazyGroup):
    # Listed after gc, df, fsck and migrate-legacy, in this order, as add_typer would list them.
    subgroups = {
        "model": "ilabfs_cli.model:app",
        "lock": "ilabfs_cli.remote:lock_app",
        "config": "ilabfs_cli.config_cmd:app",
        "data": "ilabfs_cli.data:app",
        "eval": "ilabfs_cli.evals:app",
        "list": "ilabfs_cli.listing:app",
    }


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
    cls=IlabGroup,
)
maintenance.register(app)
app.command("migrate-legacy")(legacy.migrate_legacy)


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
    # Imported here because --help and --version exit before this callback runs and need no logging.
    import logging

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
