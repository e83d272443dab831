"""The ``stockpilot`` command.

Errors print a clear message on stderr and exit with code 1; ``--debug`` shows the
traceback as well.
"""

from __future__ import annotations

import sys

import typer

from stockpilot import __version__
from stockpilot.cli.common import STATE, err_console, print_error
from stockpilot.errors import StockpilotError

app = typer.Typer(
    name="stockpilot",
    help="Inventory optimization and governance: import, plan, review and publish.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"stockpilot {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """stockpilot: inventory policies derived from your data, kept honest."""
    STATE.debug = debug


def _register_commands() -> None:
    from stockpilot.cli import commands

    commands.register(app)


_register_commands()


def run() -> None:
    """Console entry point with uniform error handling."""
    try:
        app(standalone_mode=True)
    except Exception as exc:
        if STATE.debug or "--debug" in sys.argv:
            raise
        message = (
            str(exc)
            if isinstance(exc, StockpilotError | OSError)
            else f"{type(exc).__name__}: {exc}"
        )
        print_error(message)
        if not isinstance(exc, StockpilotError):
            err_console.print("(run with --debug for the traceback)")
        sys.exit(1)
