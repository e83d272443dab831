"""Shared command-line output: errors and warnings."""

from __future__ import annotations

import pytest

from stockpilot.cli.common import print_error, print_warning


def test_print_error_and_warning_show_square_brackets_as_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_error("duplicate key [item, x] at lines [2, 5]; [bold]not markup[/bold]")
    print_warning("levels [nan] ignored")
    err = capsys.readouterr().err
    assert "error: duplicate key [item, x] at lines [2, 5]; [bold]not markup[/bold]" in err
    assert "warning: levels [nan] ignored" in err
