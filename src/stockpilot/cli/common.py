"""Shared pieces of the command line: consoles, settings, progress and error output."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from stockpilot.settings import Settings, load_settings

console = Console()
err_console = Console(stderr=True)


class CliState:
    """Options of the root command, shared with subcommands."""

    debug: bool = False
    settings: Settings | None = None


STATE = CliState()


def settings() -> Settings:
    """Settings, read once at start-up of the command."""
    if STATE.settings is None:
        STATE.settings = load_settings()
    return STATE.settings


@contextmanager
def progress() -> Iterator[Progress]:
    """A rich progress bar on stderr (quiet when stderr is not a terminal)."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as bar:
        yield bar
