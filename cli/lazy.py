"""A command group that builds each subgroup the first time a command needs it.

Typer builds the whole click command tree, inspecting the signature of every
command, before it parses the command line. Here a subgroup's module is
imported and its group built on first access, so ``ilab model list`` builds
only the ``model`` group, while ``ilab --help`` still builds every group to
list its help text.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping

import typer.main
from typer.core import TyperGroup


def build_group(name: str, source: str) -> TyperGroup:
    """Import ``module:attribute`` and build the click group of the Typer app found there."""
    module_name, attribute = source.split(":")
    sub_app = getattr(importlib.import_module(module_name), attribute)
    # get_group, not get_command: an app with one command must stay a group, as it does under add_typer.
    group = typer.main.get_group(sub_app)
    group.name = name
    return group


class LazyCommands(MutableMapping):
    """Subcommands by name in help order, where the subgroups named in ``sources`` are built on first access."""

    def __init__(self, built: Mapping, sources: Mapping[str, str]) -> None:
        self._built = dict(built)
        self._sources = {name: source for name, source in sources.items() if name not in self._built}
        self._names = [*self._built, *self._sources]

    def __getitem__(self, name: str):
        if name not in self._built:
            self._built[name] = build_group(name, self._sources[name])
            del self._sources[name]
        return self._built[name]

    def __setitem__(self, name: str, command) -> None:
        self._built[name] = command
        self._sources.pop(name, None)
        if name not in self._names:
            self._names.append(name)

    def __delitem__(self, name: str) -> None:
        if name not in self._names:
            raise KeyError(name)
        self._names.remove(name)
        self._built.pop(name, None)
        self._sources.pop(name, None)

    def __contains__(self, name: object) -> bool:
        # The inherited check would call __getitem__ and build the group.
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)


class LazyGroup(TyperGroup):
    """A TyperGroup that lists the groups in ``subgroups`` after its own commands and builds each on first use.

    A subclass sets ``subgroups`` to a mapping from command name to
    ``"module:attribute"`` of a ``typer.Typer`` app, in help order.
    """

    subgroups: Mapping[str, str] = {}

    def __init__(self, **attrs) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(self.commands, self.subgroups)
