"""Shared command-line output: errors and warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockpilot.cli import common
from stockpilot.cli.common import print_error, print_warning


def test_print_error_and_warning_show_square_brackets_as_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_error("duplicate key [item, x] at lines [2, 5]; [bold]not markup[/bold]")
    print_warning("levels [nan] ignored")
    err = capsys.readouterr().err
    assert "error: duplicate key [item, x] at lines [2, 5]; [bold]not markup[/bold]" in err
    assert "warning: levels [nan] ignored" in err


def test_a_misspelt_setting_variable_is_named_once_settings_are_read(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Regression: STOCKPILOT_EXCEPTION_MAX_EROR=0.1 was ignored without a word."""
    monkeypatch.setenv("STOCKPILOT_HOME", str(tmp_path))
    monkeypatch.setenv("STOCKPILOT_EXCEPTION_MAX_EROR", "0.1")
    monkeypatch.setenv("STOCKPILOT_TEST_POSTGRES_URL", "postgresql://x")  # not a setting, known
    monkeypatch.setattr(common.STATE, "settings", None)
    loaded = common.settings()
    assert loaded.exception_max_error == 0.5  # the typo set nothing
    err = " ".join(capsys.readouterr().err.split())
    assert "STOCKPILOT_EXCEPTION_MAX_EROR set but not a stockpilot setting" in err
    assert "TEST_POSTGRES_URL" not in err
