"""Random lead times in whole periods with a given mean and standard deviation.

The policy engine sizes safety stock for a random lead time ``L`` through the moments of
the demand over it, ``E[D(L)] = mu E[L]`` and ``Var[D(L)] = E[L] sigma^2 + mu^2 Var[L]``
(Silver, Pyke & Thomas 2017, *Inventory and Production Management in Supply Chains*,
4th ed., eq. 6.7; :func:`~stockpilot.core.policy.leadtime_demand.lead_time_demand_moments`):
only the mean and the variance of ``L`` enter. A simulation that checks those policies
must therefore draw lead times whose mean and variance are exactly the ones the policy
was sized for, on the simulator's whole periods.

:func:`fit_lead_time` fits, per series, a distribution on the non-negative integers to
the first two moments by the method of Adan, van Eenige & Resing (1995), *Fitting discrete
distributions on the first two moments*, Probability in the Engineering and
Informational Sciences 9, 623-632 (also Tijms 2003, *A First Course in Stochastic
Models*, appendix), with ``a = Var/mean^2 - 1/mean``:

* ``a < 0`` (less variable than Poisson, the usual case for lead times): a mixture of
  two binomial distributions ``Bin(k, p)`` and ``Bin(k + 1, p)``, ``k = floor(-1/a)``,
  weights ``q`` and ``1 - q`` with
  ``q = (1 + a (1 + k) + sqrt(-a k (1 + k) - k)) / (1 + a)`` and ``p = mean / (k + 1 - q)``;
* ``a = 0``: Poisson;
* ``a > 0`` (more variable than Poisson): the negative binomial with real shape
  ``r = mean^2 / (Var - mean)`` and ``p = mean / Var`` (a Poisson whose rate is gamma
  distributed; Adan et al. use mixtures of two negative binomials with integer shapes,
  which the real shape makes unnecessary).

Both moments are matched exactly, with one bound that no integer distribution escapes:
a lead time with a fractional mean ``m`` (fraction ``f``) has variance at least
``f (1 - f)``, reached by the two-point distribution on ``floor(m)`` and ``floor(m) + 1``
(the binomial mixture with ``p = 1``). A smaller positive standard deviation is raised
to that bound, keeping the mean. A standard deviation of exactly 0 is a fixed lead time
``round(mean)`` (half to even), the simulators' previous behaviour, so results without
lead-time variability do not change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stockpilot.errors import parameter_error

__all__ = ["LeadTimeDistribution", "fit_lead_time"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

OWNER = "fit_lead_time"

FIXED, BINOMIAL_MIXTURE, POISSON, NEGATIVE_BINOMIAL = 0, 1, 2, 3
_POISSON_TOLERANCE = 1e-9  # |Var/mean - 1| below this is Poisson (the NB shape overflows)


@dataclass(frozen=True, slots=True)
class LeadTimeDistribution:
    """Fitted lead-time distributions of a batch of series (any leading shape ``B``).

    Call it as a sampler, ``dist(rng, (*B, T))``: the lead time of an order placed in
    each of ``T`` periods, int64, independent across orders. This is the sampler
    protocol of :func:`~stockpilot.core.simulation.simulate_single_echelon` (``B = (N,)``)
    and of :func:`~stockpilot.core.simulation.simulate_network` /
    :func:`~stockpilot.core.simulation.simulate_assembly_network` (``B = (N, K)``).

    Attributes
    ----------
    family
        ``0`` fixed, ``1`` binomial mixture, ``2`` Poisson, ``3`` negative binomial (int8).
    fixed
        The lead time of fixed series (``round(mean)``), 0 elsewhere.
    trials, weight, probability
        Binomial mixture: ``Bin(trials, probability)`` with weight ``weight``, else
        ``Bin(trials + 1, probability)``. Negative binomial: ``probability`` is ``p``.
    shape
        Negative binomial shape ``r`` (0 elsewhere).
    target_mean, target_variance
        The moments asked for (variance after raising it to the integer bound).
    """

    family: NDArray[np.int8]
    fixed: IntArray
    trials: IntArray
    weight: FloatArray
    probability: FloatArray
    shape: FloatArray
    target_mean: FloatArray
    target_variance: FloatArray

    @property
    def is_random(self) -> NDArray[np.bool_]:
        """True where the lead time varies from order to order."""
        return self.family != FIXED

    def moments(self) -> tuple[FloatArray, FloatArray]:
        """Exact mean and variance of each fitted distribution (from its parameters)."""
        k = self.trials.astype(np.float64)
        q, p = self.weight, self.probability
        mix_mean = p * (k + 1.0 - q)
        factorial2 = p**2 * k * (k + 1.0 - 2.0 * q)  # E[X (X - 1)] of the mixture
        mix_var = factorial2 + mix_mean - mix_mean**2
        with np.errstate(divide="ignore", invalid="ignore"):
            nb_mean = self.shape * (1.0 - p) / p
            nb_var = nb_mean / p
        fam = self.family
        mean = np.select(
            [fam == FIXED, fam == BINOMIAL_MIXTURE, fam == POISSON],
            [self.fixed.astype(np.float64), mix_mean, self.target_mean],
            nb_mean,
        )
        var = np.select(
            [fam == FIXED, fam == BINOMIAL_MIXTURE, fam == POISSON],
            [np.zeros_like(mix_var), mix_var, self.target_mean],
            nb_var,
        )
        return mean, var

    def __call__(self, rng: np.random.Generator, size: tuple[int, ...]) -> IntArray:
        """Lead times of shape ``size = (*B, T)``; draws only where a series is random."""
        lead_shape = self.family.shape
        if tuple(size[:-1]) != lead_shape:
            raise parameter_error(
                "LeadTimeDistribution",
                "size",
                f"the fitted shape {lead_shape} plus a period axis",
                tuple(size),
            )
        horizon = size[-1]
        out = np.broadcast_to(self.fixed[..., None], size).copy()
        for family in (BINOMIAL_MIXTURE, POISSON, NEGATIVE_BINOMIAL):
            where = self.family == family
            if not where.any():
                continue
            m = int(where.sum())

            def col(values: ArrayLike, where: NDArray[np.bool_] = where) -> FloatArray:
                return np.asarray(values)[where][:, None]

            if family == BINOMIAL_MIXTURE:
                more = rng.random((m, horizon)) >= col(self.weight)
                trials = self.trials[where][:, None] + more.astype(np.int64)
                draws = rng.binomial(trials, np.minimum(col(self.probability), 1.0))
            elif family == POISSON:
                draws = rng.poisson(col(self.target_mean), (m, horizon))
            else:
                draws = rng.negative_binomial(col(self.shape), col(self.probability), (m, horizon))
            out[where] = draws
        return out.astype(np.int64)


def fit_lead_time(mean: ArrayLike, sd: ArrayLike) -> LeadTimeDistribution:
    """Fit integer lead-time distributions to a mean and standard deviation per series.

    Parameters
    ----------
    mean
        ``E[L]`` in periods, >= 0 (any shape; ``sd`` broadcasts to it).
    sd
        Standard deviation of ``L`` in periods, >= 0. Exactly 0 gives the fixed lead time
        ``round(mean)``; a positive value below the integer bound ``sqrt(f (1 - f))``
        (``f`` the fraction of ``mean``) is raised to it.

    Returns
    -------
    LeadTimeDistribution
        A sampler with the exact mean and variance (see the module docstring for the
        families, after Adan, van Eenige & Resing 1995).

    Examples
    --------
    >>> dist = fit_lead_time([4.0, 2.5, 3.0], [1.0, 0.1, 0.0])
    >>> mean, var = dist.moments()
    >>> [round(float(x), 6) for x in mean], [round(float(x), 6) for x in var]
    ([4.0, 2.5, 3.0], [1.0, 0.25, 0.0])
    """
    mu, sigma = np.broadcast_arrays(
        np.asarray(mean, dtype=np.float64), np.asarray(sd, dtype=np.float64)
    )
    bad = ~np.isfinite(mu) | ~np.isfinite(sigma) | (mu < 0) | (sigma < 0)
    if np.any(bad):
        raise parameter_error(
            OWNER, "mean, sd", "finite and >= 0", f"{int(bad.sum())} invalid pair(s)"
        )
    frac = mu - np.floor(mu)
    floor_var = frac * (1.0 - frac)
    var = np.where(sigma > 0, np.maximum(sigma**2, floor_var), 0.0)
    fixed_rows = (sigma == 0) | (mu == 0)
    var = np.where(mu == 0, 0.0, var)
    safe_mu = np.where(mu > 0, mu, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = var / safe_mu
    poisson = ~fixed_rows & (np.abs(ratio - 1.0) <= _POISSON_TOLERANCE)
    over = ~fixed_rows & ~poisson & (ratio > 1.0)
    under = ~fixed_rows & ~poisson & ~over

    # Binomial mixture (a < 0). At the integer bound (two points) it is p = 1, q = 1 - f.
    a = var / safe_mu**2 - 1.0 / safe_mu
    two_point = under & (var <= floor_var * (1.0 + 1e-12) + 1e-15)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.floor(np.where(under & ~two_point, -1.0 / a, 1.0))
        root = np.sqrt(np.maximum(-a * k * (1.0 + k) - k, 0.0))
        q = (1.0 + a * (1.0 + k) + root) / (1.0 + a)
        p = mu / (k + 1.0 - q)
    k = np.where(two_point, np.floor(mu), k)
    q = np.where(two_point, 1.0 - frac, q)
    p = np.where(two_point, 1.0, p)

    family = np.select(
        [fixed_rows, under, poisson], [FIXED, BINOMIAL_MIXTURE, POISSON], NEGATIVE_BINOMIAL
    ).astype(np.int8)
    with np.errstate(divide="ignore", invalid="ignore"):
        nb_shape = np.where(over, mu**2 / np.where(over, var - mu, 1.0), 0.0)
        nb_p = np.where(over, mu / np.where(over, var, 1.0), 0.0)
    return LeadTimeDistribution(
        family=family,
        fixed=np.where(fixed_rows, np.round(mu), 0.0).astype(np.int64),
        trials=np.where(under, k, 0.0).astype(np.int64),
        weight=np.where(under, np.clip(q, 0.0, 1.0), 0.0),
        probability=np.select([under, over], [np.clip(p, 0.0, 1.0), nb_p], 0.0),
        shape=nb_shape,
        target_mean=np.where(fixed_rows, np.round(mu), mu),
        target_variance=var,
    )
