"""Application settings: one object, read at start-up, never at import time.

Every option has an environment variable ``STOCKPILOT_<NAME>`` (e.g.
``STOCKPILOT_DATABASE_URL``) and may also come from a ``.env`` file in the working
directory. An optional limit is switched off with the value ``off``
(``STOCKPILOT_EXCEPTION_BIAS_RUN=off``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from stockpilot.vocab import Bucket

DEFAULT_HOME = Path(".stockpilot")


class Settings(BaseSettings):
    """stockpilot settings (environment variables ``STOCKPILOT_*``)."""

    model_config = SettingsConfigDict(
        env_prefix="STOCKPILOT_", env_file=".env", extra="ignore", env_parse_none_str="off"
    )

    home: Path = Field(DEFAULT_HOME, description="Folder for the embedded database and reports.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default is a SQLite file stockpilot.db in `home`. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    planning_bucket: Bucket = Field(Bucket.WEEK, description="Planning time bucket.")
    outlier_z: float = Field(
        6.0, gt=0, description="Robust z-score (median/MAD) above which demand is an outlier."
    )
    outlier_min_history: int = Field(
        8, ge=3, description="Fewest observations a series needs before outliers are judged."
    )
    freshness_days: int = Field(
        14, ge=0, description="Default freshness limit: newest record of a source may be this old."
    )
    horizon: int = Field(26, ge=1, description="Forecast horizon in planning buckets.")
    service_target: float = Field(0.95, gt=0, lt=1, description="Default service target.")
    season_group_by: str | None = Field(
        "category",
        description="Item-master column whose values group the series that share a seasonal "
        "index in the forecast step (selection rule 8); off: all series form one group.",
    )
    # Forecast exception tolerances of the planning run's ``exceptions`` step (see
    # stockpilot.core.forecast.exceptions.ExceptionRules; ``None``/``off`` = rule off).
    exception_window: int = Field(
        6, ge=1, description="Monitoring window for the error and tracking-signal rules (buckets)."
    )
    exception_max_error: float | None = Field(
        0.5,
        gt=0,
        description="Largest WAPE over the window before a series is flagged (0.5 = 50 %).",
    )
    exception_tracking_signal_limit: float | None = Field(
        4.0, gt=0, description="Largest absolute tracking signal (sum of errors / MAD)."
    )
    exception_bias_run: int | None = Field(
        6, ge=2, description="Flag when this many last errors all have the same sign."
    )
    exception_level_shift_window: int | None = Field(
        6, ge=2, description="Length of the two windows compared by the level-shift rule."
    )
    exception_level_shift_relative: float = Field(
        0.3, ge=0, description="Relative change of the mean that counts as a level shift."
    )
    exception_level_shift_z: float = Field(
        3.0, ge=0, description="Standard errors the mean must also move for a level shift."
    )

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to the embedded SQLite file under ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'stockpilot.db').resolve()}"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment (and ``.env``), with explicit overrides."""
    return Settings(**overrides)  # type: ignore[arg-type]


#: ``STOCKPILOT_*`` variables that are not settings: the test suite's database.
OTHER_VARIABLES = frozenset({"STOCKPILOT_TEST_POSTGRES_URL"})


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """The ``STOCKPILOT_*`` names in ``environ`` that no setting reads (a misspelt one is
    otherwise ignored without a word), sorted.

    >>> unknown_variables({"STOCKPILOT_HORIZON": "8", "STOCKPILOT_EXCEPTION_MAX_EROR": "0.1"})
    ['STOCKPILOT_EXCEPTION_MAX_EROR']
    """
    known = {f"STOCKPILOT_{name.upper()}" for name in Settings.model_fields} | OTHER_VARIABLES
    return sorted(
        k for k in environ if k.upper().startswith("STOCKPILOT_") and k.upper() not in known
    )
