"""One exception tree for stockpilot.

Every error inherits :class:`StockpilotError` and the builtin it refines, so callers
may catch either ``stockpilot.errors.InvalidParameterError`` or plain ``ValueError``.

Messages are built before raising and say *what* was wrong, *where*, the constraint,
the value received and how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class StockpilotError(Exception):
    """Base class of every error stockpilot raises on purpose."""


class InvalidParameterError(StockpilotError, ValueError):
    """A parameter is outside its allowed domain."""


class InvalidDataError(StockpilotError, ValueError):
    """Input data violate the canonical model (columns, types, keys, values)."""


class InfeasibleError(StockpilotError, ValueError):
    """An optimization model has no feasible solution under the given constraints."""


class SolverError(StockpilotError, RuntimeError):
    """A numerical solver failed for a reason other than infeasibility."""


class NotFoundError(StockpilotError, LookupError):
    """A requested object (run, batch, record) does not exist."""


class WorkflowError(StockpilotError, RuntimeError):
    """An action is not allowed in the current state (e.g. approving your own change)."""


class ConfigurationError(StockpilotError, ValueError):
    """Settings or a mapping file are invalid."""


def parameter_error(
    owner: str, name: str, constraint: str, value: Any, *, hint: str | None = None
) -> InvalidParameterError:
    """Build a uniform :class:`InvalidParameterError`.

    >>> str(parameter_error("FillRatePolicy", "service_target", "a float in (0, 1)", 1.5))
    "The 'service_target' parameter of FillRatePolicy must be a float in (0, 1). Got 1.5."
    """
    message = f"The {name!r} parameter of {owner} must be {constraint}. Got {value!r}."
    if hint:
        message = f"{message} {hint}"
    return InvalidParameterError(message)


def choice_error(owner: str, name: str, value: Any, valid: Iterable[str]) -> InvalidParameterError:
    """Error for a value outside a closed vocabulary; lists the valid values.

    >>> str(choice_error("policy", "service_type", "fill", ["cycle_service", "fill_rate"]))
    "The 'service_type' parameter of policy must be one of 'cycle_service', 'fill_rate'. Got 'fill'."
    """
    options = ", ".join(repr(v) for v in valid)
    return parameter_error(owner, name, f"one of {options}", value)
