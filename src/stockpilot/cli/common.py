"""Shared pieces of the command line: consoles, settings, progress and error output."""

from __future__ import annotations

import ctypes
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from stockpilot.settings import Settings, load_settings, unknown_variables

console = Console()
err_console = Console(stderr=True)


class CliState:
    """Options of the root command, shared with subcommands."""

    debug: bool = False
    settings: Settings | None = None


STATE = CliState()


def print_error(message: str) -> None:
    """``error: <message>`` on stderr, the message shown as written.

    Messages are not read as rich markup: an exception's ``floats in [0.5, 1). Got [nan].``
    or ``[item, x]`` would otherwise be taken for tags and vanish.
    """
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)


def print_warning(message: str) -> None:
    """``warning: <message>`` on stderr, the message shown as written (see :func:`print_error`)."""
    err_console.print(
        f"[yellow]warning:[/yellow] {escape(message)}", highlight=False, soft_wrap=True
    )


def settings() -> Settings:
    """Settings, read once at start-up of the command."""
    if STATE.settings is None:
        STATE.settings = load_settings()
        unknown = unknown_variables(os.environ)
        if unknown:
            print_warning(
                f"{', '.join(unknown)} set but not a stockpilot setting (ignored; a typo?); "
                "the settings are listed in the README"
            )
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


#: Lines the HiGHS solver library writes to stdout when its first ``Highs`` object is
#: created, whatever ``output_flag`` is set to afterwards (highspy 1.x).
HIGHS_BANNER_PREFIXES = ("Running HiGHS", "Includes third-party software components")


def _flush_c_stdio() -> None:
    # libc buffers stdout written by C/C++ code when it is a pipe; flush before fd 1 moves.
    # Without a C library handle (not POSIX) there is no such buffer to flush.
    with suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).fflush(None)


def _forward_native_output(text: str) -> None:
    kept = [
        line
        for line in text.splitlines()
        if line.strip() and not line.startswith(HIGHS_BANNER_PREFIXES)
    ]
    if kept:
        err_console.print("\n".join(kept), markup=False, highlight=False, soft_wrap=True)


@contextmanager
def native_stdout_to_stderr() -> Iterator[None]:
    """Keep what native libraries print off stdout while the block runs.

    Output on file descriptor 1 (not Python's ``sys.stdout``) is captured; the HiGHS
    licence banner (:data:`HIGHS_BANNER_PREFIXES`) is dropped and any other line goes to
    stderr (also when the block raises), so a command's stdout holds only what the command
    itself prints.
    """
    sys.stdout.flush()
    _flush_c_stdio()
    saved = os.dup(1)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 1)
        try:
            yield
        finally:
            _flush_c_stdio()
            os.dup2(saved, 1)
            os.close(saved)
            capture.seek(0)
            _forward_native_output(capture.read().decode(errors="replace"))
