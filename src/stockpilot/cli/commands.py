"""Registration of every command group of the ``stockpilot`` command."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach every command module's commands to ``app``."""
    from stockpilot.cli import forecast, network, platform, policy, simulate

    for module in (platform, forecast, policy, network, simulate):
        module.register(app)
