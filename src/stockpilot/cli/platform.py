"""Platform commands: demo, import, plan, runs, quarantine, db."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import yaml
from rich.table import Table
from rich.text import Text

from stockpilot.cli.common import (
    console,
    err_console,
    native_stdout_to_stderr,
    print_error,
    progress,
    settings,
)
from stockpilot.errors import ConfigurationError, InvalidParameterError
from stockpilot.services import imports, runs

if TYPE_CHECKING:
    from stockpilot.services.planning import PlanOptions
from stockpilot.store.db import SessionFactory, open_store

MANIFEST = "stockpilot.yaml"

runs_app = typer.Typer(
    help="Planning runs: list them, show one with its steps.", no_args_is_help=True
)
quarantine_app = typer.Typer(
    help="Records the validation gate held back: list, correct and release, discard.",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
classification_app = typer.Typer(
    help="ABC/XYZ classification criteria: show the approved version, approve a new one.",
    no_args_is_help=True,
)


def _store() -> SessionFactory:
    config = settings()
    config.home.mkdir(parents=True, exist_ok=True)
    return open_store(config.resolved_database_url())


def _manifest(folder: Path) -> dict[str, object]:
    path = folder / MANIFEST
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: expected a mapping of keys such as 'as_of'.")
    return data


def _as_of(value: str | None, folder: Path | None = None) -> date:
    """``--as-of``, else the folder manifest's ``as_of``, else today (UTC)."""
    raw = value
    if raw is None and folder is not None:
        manifest_value = _manifest(folder).get("as_of")
        raw = None if manifest_value is None else str(manifest_value)
    if raw is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidParameterError(
            f"The '--as-of' option must be a date written YYYY-MM-DD. Got {raw!r}."
        ) from None


def _mappings(folder: Path, given: list[Path] | None) -> list[Path]:
    """Mappings named with ``--mapping``, else every YAML file in ``DIR/mappings``."""
    if given:
        return given
    auto = folder / "mappings"
    return sorted(auto.glob("*.y*ml")) if auto.is_dir() else []


def _print_import(outcome: imports.ImportOutcome) -> None:
    if outcome.report is None:
        console.print(outcome.message)
        return
    report = outcome.report
    table = Table(title=f"Import report (as of {report.as_of})")
    for column in ("entity", "rows in", "loaded", "quarantined"):
        table.add_column(column, justify="left" if column == "entity" else "right")
    for e in report.entities:
        table.add_row(e.entity, f"{e.rows_in:,}", f"{e.rows_loaded:,}", f"{e.rows_quarantined:,}")
    table.add_row(
        "total",
        f"{report.rows_in:,}",
        f"{report.rows_loaded:,}",
        f"{report.rows_quarantined:,}",
        style="bold",
    )
    console.print(table)
    if report.by_reason:
        reasons = Table(title="Quarantined by reason")
        reasons.add_column("reason")
        reasons.add_column("rows", justify="right")
        for reason, n in report.by_reason.items():
            reasons.add_row(reason.value, f"{n:,}")
        console.print(reasons)
    for stale in report.stale_sources:
        newest = stale.newest.isoformat() if stale.newest else "never"
        console.print(
            f"[yellow]stale source[/] {stale.source!r} ({stale.entity}): newest record "
            f"{newest}, older than {stale.freshness_days} days; {stale.rows:,} rows quarantined"
        )
    ok = "yes" if report.reconciles else "[red]NO[/]"
    console.print(f"rows in = rows loaded + rows quarantined: {ok}")
    console.print(outcome.message)


def import_command(
    folder: Annotated[
        Path, typer.Argument(help="Folder with one file per entity (CSV, Parquet, .xlsx).")
    ],
    mapping: Annotated[
        list[Path] | None,
        typer.Option(
            "--mapping",
            "-m",
            help="YAML source mapping (repeatable). Default: DIR/mappings/*.yaml.",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            help="Date the data describe (YYYY-MM-DD). Default: DIR/stockpilot.yaml, else today."
        ),
    ] = None,
    actor: Annotated[str, typer.Option(help="Who imports (recorded on the batch).")] = "cli",
) -> None:
    """Validate and import a folder; print the import report (exit code 1 if rejected)."""
    if not folder.is_dir():
        raise InvalidParameterError(
            f"The folder {str(folder)!r} does not exist or is not a folder."
        )
    factory = _store()
    with progress() as bar:
        task = bar.add_task("importing", total=None)
        outcome = imports.import_folder(
            factory,
            folder,
            mappings=_mappings(folder, mapping),
            as_of=_as_of(as_of, folder),
            settings=settings(),
            actor=actor,
            after_entity_write=lambda entity, n: bar.update(
                task, description=f"wrote {entity} ({n:,})"
            ),
        )
        bar.update(task, total=1, completed=1, description="import done")
    _print_import(outcome)
    if outcome.status.value == "rejected":
        err_console.print("error: the import was rejected: no record passed the validation gate.")
        raise typer.Exit(1)


def _plan(factory: SessionFactory, options: PlanOptions) -> runs.RunSummary:
    # Imported here: the planning steps pull in the numerical stack, which `--help` and
    # the light commands do not need.
    from stockpilot.services.planning import initial_state, planning_registry

    registry = planning_registry(factory, options)
    # The run row records the choices that change its outputs beyond the snapshot.
    recorded: dict[str, object] = {"as_of": options.as_of.isoformat()}
    recorded.update(settings().model_dump(include=set(_exception_fields().values())))
    run_id = runs.create_run(factory, registry, settings=recorded)
    with progress() as bar:
        tasks = {spec.name: bar.add_task(spec.name, total=1.0) for spec in registry.steps()}

        def on_progress(step: str, fraction: float, message: str | None) -> None:
            label = f"{step}: {message}" if message else step
            bar.update(tasks[step], completed=fraction, description=label[:90])

        try:
            # the network step may solve a MILP: keep the HiGHS banner off stdout
            with native_stdout_to_stderr():
                summary = runs.execute_run(
                    factory,
                    run_id,
                    registry,
                    settings=settings(),
                    actor=options.actor,
                    state=initial_state(options),
                    on_progress=on_progress,
                )
        except Exception:
            summary = runs.get_run(factory, run_id)
            _print_run(summary)
            raise
    return summary


def _exception_fields() -> dict[str, str]:
    """``--exception-limit`` names -> the ``Settings`` fields they set."""
    from stockpilot.settings import Settings

    prefix = "exception_"
    return {
        name.removeprefix(prefix): name for name in Settings.model_fields if name.startswith(prefix)
    }


def _with_exception_limits(pairs: list[str]) -> None:
    """Apply ``rule=value`` pairs over the start-up settings (``off`` = rule off)."""
    from pydantic import ValidationError

    from stockpilot.cli.common import STATE
    from stockpilot.settings import Settings

    fields = _exception_fields()
    overrides: dict[str, object] = {}
    for pair in pairs:
        name, sep, value = (part.strip() for part in pair.partition("="))
        if not sep or name not in fields or not value:
            raise InvalidParameterError(
                "The '--exception-limit' option must be written rule=value with rule one of "
                f"{', '.join(sorted(fields))} and value a number or 'off' "
                f"(e.g. --exception-limit max_error=0.3). Got {pair!r}."
            )
        if fields[name] in overrides:
            raise InvalidParameterError(
                f"The '--exception-limit' option sets {name} twice; give each rule once. "
                f"Got {pair!r} after an earlier {name}=..."
            )
        overrides[fields[name]] = None if value.lower() == "off" else value
    try:
        STATE.settings = Settings(**{**settings().model_dump(), **overrides})
    except ValidationError as exc:
        problems = "; ".join(
            f"{str(e['loc'][0]).removeprefix('exception_')}: {e['msg']} "
            f"(got {'off' if e['input'] is None else repr(e['input'])})"
            for e in exc.errors()
        )
        raise InvalidParameterError(
            f"The '--exception-limit' option has invalid values: {problems}."
        ) from None


def plan_command(
    as_of: Annotated[
        str | None, typer.Option(help="Date the data describe (YYYY-MM-DD). Default: today.")
    ] = None,
    folder: Annotated[
        Path | None, typer.Option("--import", help="Import this folder as the run's first step.")
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Write the HTML run report here.")] = None,
    actor: Annotated[str, typer.Option(help="Who runs and publishes the plan.")] = "planner",
    exception_limit: Annotated[
        list[str] | None,
        typer.Option(
            "--exception-limit",
            help="Forecast exception tolerance rule=value, repeatable, overriding "
            "STOCKPILOT_EXCEPTION_<RULE>: window, max_error, tracking_signal_limit, bias_run, "
            "level_shift_window, level_shift_relative, level_shift_z ('off' switches a rule off).",
        ),
    ] = None,
) -> None:
    """Run the planning cycle (classify, forecast, policies, network, simulate, publish)."""
    from stockpilot.services.planning import PlanOptions
    from stockpilot.web.run_report import write_run_report

    if exception_limit:
        _with_exception_limits(exception_limit)
    factory = _store()
    options = PlanOptions(
        as_of=_as_of(as_of, folder),
        import_folder=folder,
        mappings=tuple(_mappings(folder, None)) if folder else (),
        actor=actor,
    )
    summary = _plan(factory, options)
    _print_run(summary)
    if report is not None:
        write_run_report(factory, summary.id, report)
        console.print(f"report: {report}")


def _print_run(summary: runs.RunSummary) -> None:
    status = {"succeeded": "green", "failed": "red"}.get(summary.status.value, "yellow")
    console.print(
        f"Run {summary.id}: [{status}]{summary.status.value}[/]"
        + (" (published)" if summary.published else "")
        + (f", snapshot {summary.snapshot_id}" if summary.snapshot_id else "")
    )
    table = Table()
    for column in ("#", "step", "status", "seconds", "message"):
        table.add_column(column, justify="right" if column in ("#", "seconds") else "left")
    for step in summary.steps:
        seconds = "" if step.duration_s is None else f"{step.duration_s:.2f}"
        table.add_row(str(step.ordinal), step.name, step.status, seconds, Text(step.message or ""))
    console.print(table)
    if summary.error_message:
        print_error(summary.error_message)


@runs_app.command("list")
def runs_list(
    limit: Annotated[int, typer.Option(help="How many runs, newest first.")] = 20,
) -> None:
    """List planning runs, newest first."""
    table = Table(title="Planning runs")
    for column in ("id", "status", "published", "snapshot", "created", "seconds", "error"):
        table.add_column(column)
    for run in runs.list_runs(_store(), limit=limit):
        seconds = (
            f"{(run.finished_at - run.started_at).total_seconds():.1f}"
            if run.finished_at and run.started_at
            else ""
        )
        table.add_row(
            str(run.id),
            run.status.value,
            "yes" if run.published else "",
            str(run.snapshot_id or ""),
            str(run.created_at)[:19],
            seconds,
            Text((run.error_message or "")[:60]),
        )
    console.print(table)


@runs_app.command("show")
def runs_show(
    run_id: Annotated[int, typer.Argument(help="Run id (see `stockpilot runs list`).")],
) -> None:
    """Show one run: status, snapshot, steps with progress and timings, error."""
    _print_run(runs.get_run(_store(), run_id))


@quarantine_app.command("list")
def quarantine_list(
    status: Annotated[str, typer.Option(help="open, released or discarded.")] = "open",
    entity: Annotated[str | None, typer.Option(help="Only this entity.")] = None,
    reason: Annotated[str | None, typer.Option(help="Only this reason code.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
) -> None:
    """List quarantined records with reason, file, row and raw values."""
    frame = imports.list_quarantine(
        _store(), status=status, entity=entity, reason=reason, limit=limit
    )
    table = Table(title=f"Quarantine ({status})")
    for column in ("id", "batch", "entity", "reason", "file", "row", "detail"):
        table.add_column(column)
    for row in frame.iter_rows(named=True):
        table.add_row(
            str(row["id"]),
            str(row["batch_id"]),
            row["entity"],
            row["reason"],
            row["source_file"] or "",
            str(row["row_number"] or ""),
            Text((row["detail"] or "")[:80]),
        )
    console.print(table)
    console.print(f"{frame.height} record(s) shown.")


def _corrections(pairs: list[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for pair in pairs:
        column, sep, value = pair.partition("=")
        if not sep or not column:
            raise InvalidParameterError(
                f"The '--set' option must be written column=value (e.g. --set unit_cost=4.5). Got {pair!r}."
            )
        out[column.strip()] = value if value != "" else None
    return out


@quarantine_app.command("release")
def quarantine_release(
    record_ids: Annotated[list[int], typer.Argument(help="Quarantine record ids to release.")],
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="Correction column=value applied to every record given (repeatable)."
        ),
    ] = None,
    actor: Annotated[str, typer.Option(help="Who corrects and releases (audited).")] = "cli",
    as_of: Annotated[
        str | None, typer.Option(help="Date the gate judges against. Default: today.")
    ] = None,
) -> None:
    """Correct records, pass them through the gate again and load those that pass."""
    corrections = _corrections(set_ or [])
    outcome = imports.release(
        _store(),
        record_ids,
        {rid: corrections for rid in record_ids} if corrections else None,
        actor=actor,
        as_of=_as_of(as_of),
        settings=settings(),
    )
    console.print(
        f"released {len(outcome.released_ids)} record(s)"
        + (f" into batch {outcome.batch_id}" if outcome.batch_id else "")
    )
    if outcome.still_failing.height:
        for row in outcome.still_failing.iter_rows(named=True):
            err_console.print(
                f"record {row['id']} still fails: {row['reason']}: {row['detail']}", markup=False
            )
        raise typer.Exit(1)


@quarantine_app.command("discard")
def quarantine_discard(
    record_ids: Annotated[list[int], typer.Argument(help="Quarantine record ids to discard.")],
    reason: Annotated[str, typer.Option(help="Why the records are discarded (audited).")],
    actor: Annotated[str, typer.Option(help="Who discards.")] = "cli",
) -> None:
    """Discard records for good (kept in the quarantine table with their reason)."""
    n = imports.discard(_store(), record_ids, actor=actor, reason=reason)
    console.print(f"discarded {n} record(s)")


@classification_app.command("show")
def classification_show() -> None:
    """Print the classification criteria planning runs use (YAML)."""
    from stockpilot.services.classification import active_config

    with _store()() as session:
        config = active_config(session)
    if not config.is_approved:
        console.print("# default criteria: no version approved yet")
    console.print(yaml.safe_dump(config.to_dict(), sort_keys=False), highlight=False)


@classification_app.command("approve")
def classification_approve(
    config_file: Annotated[
        Path, typer.Argument(help="YAML with the criteria (see `classification show`).")
    ],
    by: Annotated[str, typer.Option("--by", help="Who approves (recorded in the audit trail).")],
    reason: Annotated[str, typer.Option(help="Why the criteria change (audited).")],
) -> None:
    """Approve a new version of the classification criteria."""
    from stockpilot.services.classification import approve_config

    data = yaml.safe_load(config_file.read_text())
    if not isinstance(data, dict):
        raise ConfigurationError(f"{config_file}: expected a mapping of criteria.")
    approved = approve_config(_store(), data, approved_by=by, reason=reason)
    console.print(
        f"classification criteria version {approved.version} approved by {approved.approved_by} "
        f"at {approved.approved_at:%Y-%m-%d %H:%M} UTC"
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the newest revision."""
    from stockpilot.store.db import create_store_engine
    from stockpilot.store.migrations import current_revision, head_revision, upgrade

    config = settings()
    config.home.mkdir(parents=True, exist_ok=True)
    engine = create_store_engine(config.resolved_database_url())
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    console.print(
        f"database {engine.url.render_as_string(hide_password=True)}: "
        f"revision {before or '(empty)'} -> {after} (head {head_revision()})"
    )


def export_command(
    kind: Annotated[
        str,
        typer.Argument(
            help="policies or forecasts, or a run's review output: network, simulation, "
            "exceptions, forecast_selection, season_groups, policy_details, accuracy, "
            "overrides."
        ),
    ],
    out: Annotated[Path, typer.Option(help="File to write (.csv, .parquet or .xlsx).")],
    run_id: Annotated[
        int | None, typer.Option("--run", help="Run id. Default: the published plan.")
    ] = None,
    erp: Annotated[
        bool,
        typer.Option("--erp", help="Policies in the ERP import layout (min/max, whole units)."),
    ] = False,
) -> None:
    """Export a run's (or the published plan's) policies, forecasts or review outputs."""
    from stockpilot.engine.policies import erp_export
    from stockpilot.io.writers import write_table

    kinds = (*runs.PLAN_KINDS, *runs.ARTIFACT_KINDS)
    if kind not in kinds:
        raise InvalidParameterError(
            f"The 'KIND' argument must be one of {', '.join(kinds)}. Got {kind!r}."
        )
    if erp and kind != "policies":
        raise InvalidParameterError("The '--erp' option applies to policies only.")
    factory = _store()
    if kind in runs.ARTIFACT_KINDS:
        chosen = runs.published_run_id(factory) if run_id is None else run_id
        if chosen is None:
            raise InvalidParameterError(
                "No plan is published yet; run `stockpilot plan` or name a run with --run."
            )
        runs.get_run(factory, chosen)  # a clear error for an unknown run
        artifact = runs.read_artifact(factory, chosen, kind)
        if artifact is None:
            raise InvalidParameterError(f"Run {chosen} has no {kind!r} output.")
        write_table(artifact, out)
        console.print(f"wrote {artifact.height:,} {kind} rows of run {chosen} to {out}")
        return
    if run_id is None:
        frame = runs.read_published(factory, kind)
        if frame.height == 0:
            raise InvalidParameterError(
                "No plan is published yet; run `stockpilot plan` or name a run with --run."
            )
    else:
        runs.get_run(factory, run_id)  # a clear error for an unknown run
        with factory() as session:
            from stockpilot.store import repositories as repo

            frame = repo.read_plan_rows(session, kind, run_id)
    frame = frame.drop([c for c in ("id", "run_id") if c in frame.columns])
    if kind == "policies":
        frame = frame.rename({"lot_sizing": "lot_sizing_rule"})
        if erp:
            frame = erp_export(frame)
    write_table(frame, out)
    console.print(f"wrote {frame.height:,} {kind} rows to {out}")


def demo_command(
    out: Annotated[
        Path, typer.Option(help="Folder for the demo data, database and report.")
    ] = Path("demo_out"),
    items: Annotated[
        int, typer.Option(help="Number of items (about 2.4 item-locations each).")
    ] = 850,
    weeks: Annotated[int, typer.Option(help="Weeks of demand history.")] = 104,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same company.")
    ] = 7,
) -> None:
    """Generate a demo company, import it, plan, print a summary and write an HTML report."""
    from stockpilot.cli.common import STATE
    from stockpilot.io.demo.extracts import write_demo
    from stockpilot.services.planning import PlanOptions
    from stockpilot.web.run_report import write_run_report

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    config = settings()
    if config.database_url is None:
        database = (out / "stockpilot.db").resolve()
        database.unlink(missing_ok=True)
        STATE.settings = config.model_copy(
            update={"database_url": f"sqlite:///{database}", "home": out}
        )
    with progress() as bar:
        task = bar.add_task(f"generating {items:,} items x {weeks} weeks", total=None)
        demo = write_demo(out / "data", items=items, weeks=weeks, seed=seed)
        bar.update(
            task,
            total=1,
            completed=1,
            description=f"demo company: {demo.company.n_item_locations:,} item-locations",
        )
    factory = _store()
    options = PlanOptions(
        as_of=demo.company.as_of,
        import_folder=demo.path,
        mappings=demo.mappings,
        actor="demo",
        report_folder=out,
    )
    summary = _plan(factory, options)
    _print_run(summary)
    outcome = imports.list_quarantine(factory, limit=None)
    console.print(
        f"{outcome.height} record(s) in quarantine; `stockpilot quarantine list` shows them."
    )
    report = out / "report.html"
    write_run_report(factory, summary.id, report)
    console.print(f"report: {report}  ({time.perf_counter() - started:.1f} s)")


def register(app: typer.Typer) -> None:
    """Attach the platform commands to ``app``."""
    app.command("demo")(demo_command)
    app.command("import")(import_command)
    app.command("plan")(plan_command)
    app.command("export")(export_command)
    app.add_typer(runs_app, name="runs")
    app.add_typer(quarantine_app, name="quarantine")
    app.add_typer(db_app, name="db")
    app.add_typer(classification_app, name="classification")
