"""Closed vocabularies shared by every layer (one place, one spelling)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class Bucket(StrEnum):
    """Planning / source time buckets."""

    DAY = "day"
    WEEK = "week"  # ISO week, Monday start
    MONTH = "month"


BUCKET_DAYS: Mapping[Bucket, float] = MappingProxyType(
    {Bucket.DAY: 1.0, Bucket.WEEK: 7.0, Bucket.MONTH: 365.25 / 12}
)
"""Days in one bucket (a month is the average Gregorian month)."""

PERIODS_PER_YEAR: Mapping[Bucket, int] = MappingProxyType(
    {Bucket.DAY: 365, Bucket.WEEK: 52, Bucket.MONTH: 12}
)
"""Buckets in a year: annual rates (holding cost, consumption value) per bucket."""


class ServiceType(StrEnum):
    CYCLE_SERVICE = "cycle_service"  # type 1: probability of no stockout per cycle
    FILL_RATE = "fill_rate"  # type 2: share of demand filled from stock


class PolicyType(StrEnum):
    BASE_STOCK = "base_stock"
    S_Q = "s_Q"
    S_S = "s_S"
    R_S = "R_S"
    R_S_S = "R_s_S"


class DemandPattern(StrEnum):
    """Syntetos-Boylan-Croston classes."""

    SMOOTH = "smooth"
    ERRATIC = "erratic"
    INTERMITTENT = "intermittent"
    LUMPY = "lumpy"
    NO_DEMAND = "no_demand"


class LifecycleStage(StrEnum):
    NEW = "new"
    GROWTH = "growth"
    MATURE = "mature"
    DECLINE = "decline"
    END_OF_LIFE = "end_of_life"


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RecordStatus(StrEnum):
    """Workflow status of generated plan rows (frePPLe-style)."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    PUBLISHED = "published"
