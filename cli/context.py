"""State shared by the commands of one invocation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from ilabfs.store import Store


class State:
    """The global options, and the store opened on first use."""

    def __init__(self, store: str | None, config: str | None = None) -> None:
        self.store_option = store
        self.config_option = config
        self._store: Store | None = None

    def store(self, create: bool = False) -> Store:
        """Open the store; commands that only read do not create it."""
        if self._store is None:
            from ilabfs.locations import store_root
            from ilabfs.store import Store

            self._store = Store(store_root(self.store_option, config_file=self.config_option), create=create)
        return self._store


def state(ctx: typer.Context) -> State:
    return ctx.find_root().obj


def open_store(ctx: typer.Context, create: bool = False) -> Store:
    return state(ctx).store(create=create)


def empty_or_missing(ctx: typer.Context) -> bool:
    """Tell whether the store does not exist yet, so read-only commands can print an empty result."""
    from ilabfs.layout import MARKER
    from ilabfs.locations import store_root

    return not (store_root(state(ctx).store_option, config_file=state(ctx).config_option) / MARKER).exists()
