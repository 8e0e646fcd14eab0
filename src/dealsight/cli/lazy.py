"""Commands loaded when they are run: ``dealsight version`` or ``dealsight db upgrade`` should not wait for
LightGBM, scikit-learn and SciPy to load (about 3 s of start-up on this machine) because other commands use
them.

:class:`LazyGroup` is the top-level group: each of its commands is named by ``"module:attribute"`` and the
module is imported only when that command is looked up (to run it, or for ``--help``, which lists every
command and so loads them all). The attribute is a Typer app (a command group) or a function (a command);
a function ``"module:build"`` marked by :data:`BUILDERS` returns the Typer app of a group assembled from
several modules (``dealsight import``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import typer
import typer._click as click  # Typer's own copy of click: its groups take its types
from typer.core import TyperGroup

COMMANDS: dict[str, str] = {}
"""Command name -> ``"module:attribute"`` (filled by :func:`lazy`)."""


def lazy(name: str, target: str) -> None:
    """Register the command ``name``, found at ``target`` (``"dealsight.cli.demo:demo_command"``)."""
    COMMANDS[name] = target


def _load(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _command(name: str, found: Any) -> click.Command:
    command: click.Command
    if isinstance(found, typer.Typer):
        command = typer.main.get_group(found)
    elif callable(found) and getattr(found, "builds_group", False):
        command = typer.main.get_group(found())
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(found)
        command = typer.main.get_command(single)
    command.name = name
    return command


def builds_group(function: Callable[[], typer.Typer]) -> Callable[[], typer.Typer]:
    """Mark ``function`` as returning the Typer app of a group (rather than being a command itself)."""
    function.builds_group = True  # type: ignore[attr-defined]
    return function


class LazyGroup(TyperGroup):
    """The top-level group: its own commands plus those of :data:`COMMANDS`, each imported when asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        own = super().list_commands(ctx)
        return [*(name for name in COMMANDS if name not in own), *own]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            self.add_command(_command(cmd_name, _load(COMMANDS[cmd_name])), cmd_name)
        return super().get_command(ctx, cmd_name)
