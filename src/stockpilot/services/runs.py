"""The planning run: one database object with ordered steps, progress and outputs.

A run is created ``queued`` with (or without) an input snapshot, executed step by step,
and ends ``succeeded`` or ``failed``. Steps are plain callables ``(context) -> None``
registered with a name and an order in a :class:`StepRegistry`; the executor runs them
in order, persists each step's status, progress and timing in its own short
transaction (so others can watch), and when a step raises it marks the step and the
run ``failed`` with the message and re-raises (errors are never swallowed).

Outputs are written with :func:`save_forecasts` / :func:`save_policies` as
``proposed`` rows; a re-run of the same run replaces only rows still ``proposed``
(approved ones survive). :func:`publish` makes a run's proposed and approved rows the
published plan in one transaction; a run that fails never reaches it, so the previous
published plan is untouched.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.orm import Session

from stockpilot.errors import NotFoundError, WorkflowError, parameter_error
from stockpilot.settings import Settings
from stockpilot.store import repositories as repo
from stockpilot.store.db import SessionFactory, dialect_of
from stockpilot.store.models import (
    BatchStatus,
    ImportBatch,
    PlanningRun,
    PublishedPlan,
    RunArtifact,
    RunStep,
    Snapshot,
    StepStatus,
    utcnow,
)
from stockpilot.vocab import RecordStatus, RunStatus

__all__ = [
    "ARTIFACT_KINDS",
    "BUILTIN_STEP_ORDER",
    "PLAN_KINDS",
    "RunContext",
    "RunSummary",
    "StepFunction",
    "StepRegistry",
    "StepSpec",
    "StepStatus",
    "StepSummary",
    "approve_outputs",
    "create_run",
    "create_snapshot",
    "execute_run",
    "fail",
    "get_run",
    "list_runs",
    "publish",
    "publish_step",
    "published_run_id",
    "read_artifact",
    "read_published",
    "revise_policies",
    "save_artifact",
    "save_forecasts",
    "save_policies",
    "snapshot_step",
]

PLAN_KINDS = ("forecasts", "policies")


# Conventional positions; engines register their steps between snapshot and publish.
BUILTIN_STEP_ORDER: Mapping[str, int] = {
    "ingest": 10,
    "validate": 20,
    "snapshot": 30,
    "classify": 40,
    "forecast": 50,
    "policy": 60,
    "network": 70,
    "simulate": 80,
    "publish": 1000,
}


# ---------------------------------------------------------------------- snapshots


def create_snapshot(session: Session, batch_ids: Sequence[int] | None = None) -> Snapshot:
    """Freeze a set of import batches as an immutable, versioned input set.

    Parameters
    ----------
    session : Session
        The caller's transaction (this function does not commit).
    batch_ids : sequence of int, optional
        Batches to include; default every stored batch that loaded records.

    Returns
    -------
    Snapshot
        The existing snapshot when the same batches were frozen before (same content
        hash), else a new one.
    """
    statement = select(ImportBatch).order_by(ImportBatch.id)
    if batch_ids is None:
        statement = statement.where(ImportBatch.status != BatchStatus.REJECTED.value)
    else:
        statement = statement.where(ImportBatch.id.in_(list(batch_ids)))
    batches = list(session.execute(statement).scalars().all())
    if batch_ids is not None and len(batches) != len(set(batch_ids)):
        missing = sorted(set(batch_ids) - {b.id for b in batches})
        raise NotFoundError(f"create_snapshot: no import batches with ids {missing}.")
    digest = hashlib.sha256(
        "\n".join(f"{b.id}:{b.content_sha256}" for b in batches).encode()
    ).hexdigest()
    existing = session.execute(
        select(Snapshot).where(Snapshot.content_sha256 == digest)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    snapshot = Snapshot(content_sha256=digest, created_at=utcnow(), batches=batches)
    session.add(snapshot)
    session.flush()
    return snapshot


# ------------------------------------------------------------------------- context


@dataclass
class RunContext:
    """What a step receives.

    Attributes
    ----------
    run_id : int
        The run being executed.
    snapshot_id : int or None
        Its input snapshot (set by the ``snapshot`` step when the run had none).
    session : Session
        The step's own transaction: it commits when the step returns and rolls back
        when it raises. Use it for reads and for writing outputs
        (:func:`save_forecasts`, :func:`save_policies`).
    settings : Settings
        Application settings.
    state : dict
        Scratch space that carries in-memory results from one step to the next.
    """

    run_id: int
    snapshot_id: int | None
    session: Session
    settings: Settings
    state: dict[str, Any]
    _report: Callable[[float, str | None], None]

    def progress(self, fraction: float, message: str | None = None) -> None:
        """Record the step's progress (0..1), committed at once so others can see it."""
        if not 0.0 <= fraction <= 1.0:
            raise parameter_error("RunContext.progress", "fraction", "a float in [0, 1]", fraction)
        self._report(fraction, message)

    def read_entity(self, entity_name: str) -> pl.DataFrame:
        """Canonical records of ``entity_name`` in the run's snapshot."""
        if self.snapshot_id is None:
            raise WorkflowError(
                f"Run {self.run_id} has no input snapshot yet; register the 'snapshot' "
                "step before steps that read data."
            )
        snapshot = self.session.get(Snapshot, self.snapshot_id)
        assert snapshot is not None
        return repo.read_entity(self.session, entity_name, snapshot.batch_ids)


StepFunction = Callable[[RunContext], None]


@dataclass(frozen=True)
class StepSpec:
    name: str
    order: int
    function: StepFunction


@dataclass
class StepRegistry:
    """Ordered planning-run steps.

    Examples
    --------
    >>> registry = StepRegistry()
    >>> registry.register("forecast", lambda ctx: None)
    >>> registry.register("policy", lambda ctx: None)
    >>> registry.register("snapshot", snapshot_step)
    >>> [step.name for step in registry.steps()]
    ['snapshot', 'forecast', 'policy']
    """

    _steps: dict[str, StepSpec] = field(default_factory=dict)

    def register(self, name: str, function: StepFunction, *, order: int | None = None) -> None:
        """Add a step; ``order`` defaults to :data:`BUILTIN_STEP_ORDER` for known names."""
        if name in self._steps:
            raise WorkflowError(f"A step named {name!r} is already registered; names are unique.")
        if order is None:
            if name not in BUILTIN_STEP_ORDER:
                raise parameter_error(
                    "StepRegistry.register",
                    "order",
                    "an int for a step without a conventional position",
                    order,
                    hint=f"Conventional positions: {dict(BUILTIN_STEP_ORDER)}.",
                )
            order = BUILTIN_STEP_ORDER[name]
        if not callable(function):
            raise parameter_error("StepRegistry.register", "function", "a callable", function)
        self._steps[name] = StepSpec(name, order, function)

    def steps(self) -> tuple[StepSpec, ...]:
        return tuple(sorted(self._steps.values(), key=lambda s: (s.order, s.name)))


def snapshot_step(context: RunContext) -> None:
    """Built-in ``snapshot`` step: freeze every loaded batch when the run has no snapshot."""
    if context.snapshot_id is not None:
        return
    snapshot = create_snapshot(context.session)
    run = context.session.get(PlanningRun, context.run_id)
    assert run is not None
    run.snapshot_id = snapshot.id
    context.snapshot_id = snapshot.id


def publish_step(context: RunContext) -> None:
    """Built-in ``publish`` step: make this run's outputs the published plan."""
    _publish_in(context.session, context.run_id, actor=str(context.state.get("actor", "system")))


# -------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class StepSummary:
    ordinal: int
    name: str
    status: str
    progress: float
    duration_s: float | None
    message: str | None


@dataclass(frozen=True)
class RunSummary:
    """A planning run as stored: status, snapshot, timings, steps and error."""

    id: int
    status: RunStatus
    snapshot_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error_message: str | None
    steps: tuple[StepSummary, ...]
    published: bool

    @classmethod
    def of(cls, run: PlanningRun, *, published: bool) -> RunSummary:
        return cls(
            run.id,
            RunStatus(run.status),
            run.snapshot_id,
            run.created_at,
            run.started_at,
            run.finished_at,
            run.error_message,
            tuple(
                StepSummary(s.ordinal, s.name, s.status, s.progress, s.duration_s, s.message)
                for s in run.steps
            ),
            published,
        )


def create_run(
    session_factory: SessionFactory,
    registry: StepRegistry,
    *,
    snapshot_id: int | None = None,
    settings: Mapping[str, Any] | None = None,
) -> int:
    """Create a ``queued`` run with one ``pending`` row per registered step; return its id."""
    steps = registry.steps()
    if not steps:
        raise parameter_error("create_run", "registry", "a registry with at least one step", steps)
    with session_factory.begin() as session:
        if snapshot_id is not None and session.get(Snapshot, snapshot_id) is None:
            raise NotFoundError(f"create_run: no snapshot with id {snapshot_id}.")
        run = PlanningRun(
            status=RunStatus.QUEUED.value,
            snapshot_id=snapshot_id,
            created_at=utcnow(),
            settings=dict(settings or {}),
            steps=[
                RunStep(ordinal=i, name=s.name, status=StepStatus.PENDING, progress=0.0)
                for i, s in enumerate(steps, start=1)
            ],
        )
        session.add(run)
        session.flush()
        return run.id


def execute_run(
    session_factory: SessionFactory,
    run_id: int,
    registry: StepRegistry,
    *,
    settings: Settings,
    actor: str = "system",
    state: dict[str, Any] | None = None,
    on_progress: Callable[[str, float, str | None], None] | None = None,
) -> RunSummary:
    """Execute a queued (or failed, for a re-run) run's steps in order.

    Each step runs in its own transaction; its status, progress, timings and message
    are committed as they change. When a step raises, its transaction rolls back, the
    step and the run are marked ``failed`` with the message, and the exception is
    re-raised. ``on_progress(step, fraction, message)`` mirrors progress to a UI.

    ``state`` (shared by every step as :attr:`RunContext.state`, and left holding what
    the steps put there) also carries the publishing ``actor``.
    """
    specs = {s.name: s for s in registry.steps()}
    with session_factory.begin() as session:
        run = _get(session, run_id)
        if run.status not in (RunStatus.QUEUED.value, RunStatus.FAILED.value):
            raise WorkflowError(
                f"Run {run_id} is {run.status!r}; only queued or failed runs can be executed."
            )
        names = [s.name for s in run.steps]
        unknown = [n for n in names if n not in specs]
        if unknown:
            raise WorkflowError(
                f"Run {run_id} has steps {unknown} that the registry does not provide."
            )
        run.status = RunStatus.RUNNING.value
        run.started_at = utcnow()
        run.finished_at = None
        run.error_message = None
        for step in run.steps:
            step.status = StepStatus.PENDING
            step.progress = 0.0
            step.message = None
        snapshot_id = run.snapshot_id
        plan = [(s.id, s.name) for s in run.steps]
    scratch: dict[str, Any] = state if state is not None else {}
    scratch.setdefault("actor", actor)
    scratch[_CLEARED_KEY] = set()  # each execution replaces the run's proposed rows once
    # A re-run executes every step again: steps are idempotent by contract (their
    # outputs replace the run's proposed rows), so no stale output survives.
    for step_id, name in plan:
        snapshot_id = _run_step(
            session_factory,
            run_id,
            step_id,
            specs[name],
            snapshot_id=snapshot_id,
            settings=settings,
            state=scratch,
            on_progress=on_progress,
        )
    with session_factory.begin() as session:
        run = _get(session, run_id)
        run.status = RunStatus.SUCCEEDED.value
        run.finished_at = utcnow()
    return get_run(session_factory, run_id)


def _set_step(session_factory: SessionFactory, step_id: int, **values: Any) -> None:
    with session_factory.begin() as session:
        session.execute(update(RunStep).where(RunStep.id == step_id).values(**values))


def _run_step(
    session_factory: SessionFactory,
    run_id: int,
    step_id: int,
    spec: StepSpec,
    *,
    snapshot_id: int | None,
    settings: Settings,
    state: dict[str, Any],
    on_progress: Callable[[str, float, str | None], None] | None,
) -> int | None:
    started = utcnow()
    clock = time.perf_counter()
    _set_step(session_factory, step_id, status=StepStatus.RUNNING, started_at=started, progress=0.0)

    step_sessions: list[Session] = []

    def report(fraction: float, message: str | None) -> None:
        own = step_sessions[0] if step_sessions else None
        if own is not None and _holds_sqlite_write_lock(own):
            # SQLite has one writer: a second connection would wait for this step's
            # own transaction and time out. Record progress in that transaction instead
            # (others see it when the step commits).
            own.execute(
                update(RunStep)
                .where(RunStep.id == step_id)
                .values(progress=fraction, message=message)
            )
        else:
            _set_step(session_factory, step_id, progress=fraction, message=message)
        if on_progress is not None:
            on_progress(spec.name, fraction, message)

    try:
        with session_factory.begin() as session:
            step_sessions.append(session)
            context = RunContext(run_id, snapshot_id, session, settings, state, report)
            spec.function(context)
            snapshot_id = context.snapshot_id
    except BaseException as exc:
        message = f"Step {spec.name!r} failed: {type(exc).__name__}: {exc}"
        finished = utcnow()
        with session_factory.begin() as session:
            session.execute(
                update(RunStep)
                .where(RunStep.id == step_id)
                .values(
                    status=StepStatus.FAILED,
                    finished_at=finished,
                    duration_s=time.perf_counter() - clock,
                    message=message,
                )
            )
            run = _get(session, run_id)
            run.status = RunStatus.FAILED.value
            run.finished_at = finished
            run.error_message = message
        raise
    _set_step(
        session_factory,
        step_id,
        status=StepStatus.SUCCEEDED,
        progress=1.0,
        finished_at=utcnow(),
        duration_s=time.perf_counter() - clock,
    )
    if on_progress is not None:
        on_progress(spec.name, 1.0, None)
    return snapshot_id


def _holds_sqlite_write_lock(session: Session) -> bool:
    """True when ``session`` is on SQLite and has written in its open transaction."""
    if dialect_of(session) != "sqlite":
        return False
    driver = session.connection().connection.driver_connection
    return bool(getattr(driver, "in_transaction", False))


def fail(session_factory: SessionFactory, run_id: int, message: str) -> None:
    """Mark a run ``failed`` with ``message`` (e.g. when a worker died outside a step)."""
    with session_factory.begin() as session:
        run = _get(session, run_id)
        if run.status == RunStatus.SUCCEEDED.value:
            raise WorkflowError(f"Run {run_id} already succeeded; it cannot be failed.")
        run.status = RunStatus.FAILED.value
        run.finished_at = utcnow()
        run.error_message = message
        for step in run.steps:
            if step.status == StepStatus.RUNNING:
                step.status = StepStatus.FAILED
                step.message = message


def _get(session: Session, run_id: int) -> PlanningRun:
    run = session.get(PlanningRun, run_id)
    if run is None:
        raise NotFoundError(f"No planning run with id {run_id}. `stockpilot runs list` shows them.")
    return run


def get_run(session_factory: SessionFactory, run_id: int) -> RunSummary:
    """The stored state of one run."""
    with session_factory() as session:
        run = _get(session, run_id)
        return RunSummary.of(run, published=_published_id(session) == run_id)


def list_runs(session_factory: SessionFactory, *, limit: int = 50) -> tuple[RunSummary, ...]:
    """The newest runs first."""
    with session_factory() as session:
        runs = (
            session.execute(select(PlanningRun).order_by(PlanningRun.id.desc()).limit(limit))
            .scalars()
            .all()
        )
        current = _published_id(session)
        return tuple(RunSummary.of(r, published=r.id == current) for r in runs)


# -------------------------------------------------------------------------- outputs


_CLEARED_KEY = "_stockpilot_cleared_outputs"


def _save(context: RunContext, kind: str, frame: pl.DataFrame) -> int:
    session = context.session
    run = _get(session, context.run_id)
    if run.status != RunStatus.RUNNING.value:
        raise WorkflowError(
            f"Run {context.run_id} is {run.status!r}; outputs are written while it runs."
        )
    cleared: set[str] = context.state.setdefault(_CLEARED_KEY, set())
    if kind not in cleared:
        # First write of this kind in this execution: a re-run replaces what is still
        # proposed. Later writes (partitions of the same output) append.
        repo.delete_plan_rows(session, kind, context.run_id, status=RecordStatus.PROPOSED.value)
        cleared.add(kind)
    # Approved/published rows survive; new rows for their item-locations are not written.
    kept = repo.read_plan_rows(
        session,
        kind,
        context.run_id,
        statuses=[RecordStatus.APPROVED.value, RecordStatus.PUBLISHED.value],
    )
    if kept.height:
        frame = frame.join(
            kept.select("item_id", "location_id").unique(),
            on=["item_id", "location_id"],
            how="anti",
        )
    return repo.write_plan_rows(
        session, kind, context.run_id, frame, status=RecordStatus.PROPOSED.value
    )


def save_forecasts(context: RunContext, frame: pl.DataFrame) -> int:
    """Write the run's forecasts (``item_id, location_id, period_start, model, mean,
    q50..q99``) as ``proposed`` rows.

    The first call in an execution replaces the run's earlier proposed forecasts (a
    re-run); later calls in the same execution append (partitions of one output).
    Item-locations with approved or published rows keep them and get no new rows.
    """
    return _save(context, "forecasts", frame)


def save_policies(context: RunContext, frame: pl.DataFrame) -> int:
    """Write the run's policies (DESIGN.md section 3 columns) as ``proposed`` rows.

    Same replacement rule as :func:`save_forecasts`.
    """
    return _save(context, "policies", frame)


def revise_policies(context: RunContext, frame: pl.DataFrame) -> int:
    """Replace all of the running run's proposed policies by ``frame`` (a later step, such
    as the network step, revising the whole output); approved and published rows stay."""
    context.state.setdefault(_CLEARED_KEY, set()).discard("policies")
    return _save(context, "policies", frame)


ARTIFACT_KINDS = (
    "network",
    "simulation",
    "exceptions",
    "forecast_selection",
    "policy_details",
    "accuracy",
    "season_groups",
    "overrides",
)
"""Review outputs stored per run: network placement, simulated service, forecast
exceptions, the method each series' forecast uses and why (``forecast_selection``), each
item category's group seasonal index and its out-of-sample test (``season_groups``), every
forecast cell an event changed with its old and new value, author, reason, time and event
(``overrides``, as the audit trail holds them), and
the policy lines' further columns (``policy_details``: lot-sizing reason, push/pull and
its reason, MOQ-exception costs and recommendation, demand statistics, distribution), and
the accuracy and forecast value added of the previously published forecasts
(``accuracy``)."""


def _jsonable_rows(frame: pl.DataFrame) -> list[list[Any]]:
    text = frame.with_columns(
        pl.col(c).cast(pl.String) for c, t in frame.schema.items() if t.is_temporal()
    )
    # JSON has no NaN: missing numbers are stored as null.
    text = text.with_columns(
        pl.col(c).fill_nan(None) for c, t in text.schema.items() if t.is_float()
    )
    return [list(row) for row in text.iter_rows()]


def save_artifact(context: RunContext, kind: str, frame: pl.DataFrame) -> int:
    """Store a review output of the running run (one per kind; a re-run replaces it)."""
    if kind not in ARTIFACT_KINDS:
        raise parameter_error("save_artifact", "kind", f"one of {ARTIFACT_KINDS}", kind)
    session = context.session
    session.execute(
        delete(RunArtifact).where(RunArtifact.run_id == context.run_id, RunArtifact.kind == kind)
    )
    session.add(
        RunArtifact(
            run_id=context.run_id,
            kind=kind,
            created_at=utcnow(),
            rows=frame.height,
            columns=[[c, str(t)] for c, t in frame.schema.items()],
            data=_jsonable_rows(frame),
        )
    )
    session.flush()
    return frame.height


def read_artifact(session_factory: SessionFactory, run_id: int, kind: str) -> pl.DataFrame | None:
    """A run's stored artifact as a frame, or ``None`` when the run has none of that kind."""
    with session_factory() as session:
        artifact = session.execute(
            select(RunArtifact).where(RunArtifact.run_id == run_id, RunArtifact.kind == kind)
        ).scalar_one_or_none()
        if artifact is None:
            return None
        names = [c for c, _ in artifact.columns]
        frame = pl.DataFrame(artifact.data, schema=names, orient="row", infer_schema_length=None)
        return frame


def approve_outputs(
    session_factory: SessionFactory,
    run_id: int,
    *,
    kind: str,
    item_locations: Iterable[tuple[str, str]],
    actor: str,
) -> int:
    """Mark proposed rows of the given item-locations ``approved`` (audited)."""
    from stockpilot.services.audit import append_audit

    pairs = sorted(set(item_locations))
    with session_factory.begin() as session:
        _get(session, run_id)
        table = repo.plan_table(kind)
        changed = 0
        for start in range(0, len(pairs), 500):  # bounded statement size, not per SKU
            result = session.execute(
                table.update()
                .where(
                    table.c.run_id == run_id,
                    table.c.status == RecordStatus.PROPOSED.value,
                    tuple_(table.c.item_id, table.c.location_id).in_(pairs[start : start + 500]),
                )
                .values(status=RecordStatus.APPROVED.value)
            )
            changed += int(result.rowcount)  # type: ignore[attr-defined]
        append_audit(
            session,
            actor=actor,
            action="plan.approve",
            entity=kind,
            key=f"run {run_id}",
            old={"status": RecordStatus.PROPOSED.value},
            new={"status": RecordStatus.APPROVED.value, "item_locations": pairs},
        )
    return changed


# -------------------------------------------------------------------------- publish


def _published_id(session: Session) -> int | None:
    return session.execute(
        select(PublishedPlan.run_id).order_by(PublishedPlan.id.desc()).limit(1)
    ).scalar_one_or_none()


def published_run_id(session_factory: SessionFactory) -> int | None:
    """Id of the run whose outputs are the published plan (``None`` before the first)."""
    with session_factory() as session:
        return _published_id(session)


def _publish_in(session: Session, run_id: int, *, actor: str) -> PublishedPlan:
    run = _get(session, run_id)
    if run.status not in (RunStatus.RUNNING.value, RunStatus.SUCCEEDED.value):
        raise WorkflowError(
            f"Run {run_id} is {run.status!r}; only a running (publish step) or succeeded run "
            "can be published."
        )
    previous = session.execute(
        select(PublishedPlan).order_by(PublishedPlan.id.desc()).limit(1)
    ).scalar_one_or_none()
    now = utcnow()
    counts = {}
    for kind in PLAN_KINDS:
        counts[kind] = repo.set_plan_status(
            session,
            kind,
            run_id,
            from_statuses=[RecordStatus.PROPOSED.value, RecordStatus.APPROVED.value],
            to=RecordStatus.PUBLISHED.value,
        )
    if previous is not None:
        previous.superseded_at = now
    plan = PublishedPlan(run_id=run_id, published_at=now, published_by=actor)
    session.add(plan)
    session.flush()
    from stockpilot.services.audit import append_audit

    append_audit(
        session,
        actor=actor,
        action="plan.publish",
        entity="published_plans",
        key=str(run_id),
        old={"run_id": previous.run_id if previous is not None else None},
        new={"run_id": run_id, **counts},
    )
    return plan


def publish(session_factory: SessionFactory, run_id: int, *, actor: str) -> int:
    """Publish a succeeded run's outputs atomically; return the published_plans id.

    In one transaction: the run's ``proposed`` and ``approved`` forecasts and policies
    become ``published``, the previous publication is marked superseded, the new one is
    recorded and the audit row written. If anything fails, nothing changes and the
    previous plan stays published.
    """
    with session_factory.begin() as session:
        return _publish_in(session, run_id, actor=actor).id


def read_published(session_factory: SessionFactory, kind: str) -> pl.DataFrame:
    """The published plan's forecasts or policies (empty before the first publish)."""
    with session_factory() as session:
        run_id = _published_id(session)
        if run_id is None:
            return repo.read_plan_rows(session, kind, -1)
        return repo.read_plan_rows(session, kind, run_id, statuses=[RecordStatus.PUBLISHED.value])
