"""Loss functions: expected shortage beyond a stock level, for every demand family.

The (first-order) loss function of a demand ``D`` at level ``x`` is
``n(x) = E[(D - x)^+]``, the expected number of units short when ``x`` units are
available. The second-order loss ``n2(x) = E[(D - x)^+ (D - x - 1)^+] / 2`` (discrete) or
``E[((D - x)^+)^2] / 2`` (continuous) gives expected backorders of an (s, Q) policy.

All functions are vectorized: arguments broadcast like numpy ufuncs.

References
----------
Silver, E. A., Pyke, D. F. and Thomas, D. J. (2017). *Inventory and Production
Management in Supply Chains*, 4th ed., CRC Press, Appendix III (G_u(k)).
Snyder, L. V. and Shen, Z.-J. M. (2019). *Fundamentals of Supply Chain Theory*, 2nd ed.,
Wiley, Section C.3 (loss functions), eqs. (C.12)-(C.20).
Zipkin, P. H. (2000). *Foundations of Inventory Management*, McGraw-Hill, Section 6.2.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

FloatArray = NDArray[np.float64]

__all__ = [
    "gamma_loss",
    "negative_binomial_loss",
    "normal_loss",
    "poisson_loss",
    "poisson_second_order_loss",
    "standard_normal_loss",
    "standard_normal_loss_inverse",
    "standard_normal_second_order_loss",
]


def _f(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


_SQRT_2PI = float(np.sqrt(2.0 * np.pi))


def _phi(z: FloatArray) -> FloatArray:
    """Standard normal density: the formula of ``scipy.stats.norm.pdf`` without the
    distribution-object overhead (which dominated the loss-function kernels)."""
    return np.asarray(np.exp(-(z**2) / 2.0) / _SQRT_2PI, dtype=np.float64)


def poisson_sf(k: ArrayLike, mean: ArrayLike) -> FloatArray:
    """``P(D > k)`` for Poisson ``D`` at integer k: the regularized gamma ``P(k + 1, mu)``.

    Same values as ``scipy.stats.poisson.sf`` without the distribution-object overhead.
    """
    k, mu = np.broadcast_arrays(_f(k), _f(mean))
    value = special.gammainc(np.maximum(k, 0.0) + 1.0, mu)
    return np.asarray(np.where(k < 0, 1.0, value), dtype=np.float64)


def negative_binomial_sf(k: ArrayLike, size: ArrayLike, prob: ArrayLike) -> FloatArray:
    """``P(D > k)`` for ``D ~ NB(size, prob)`` at integer k: ``I_{1-p}(k + 1, r)``."""
    k, r, p = np.broadcast_arrays(_f(k), _f(size), _f(prob))
    value = special.betainc(np.maximum(k, 0.0) + 1.0, r, 1.0 - p)
    return np.asarray(np.where(k < 0, 1.0, value), dtype=np.float64)


def standard_normal_loss(z: ArrayLike) -> FloatArray:
    """Standard normal loss function ``G(z) = phi(z) - z (1 - Phi(z))``.

    Silver, Pyke & Thomas (2017) call it ``G_u(k)`` (Appendix III); Snyder & Shen (2019)
    write ``L(z)`` (eq. C.22). It is the expected shortage of a unit normal variable
    beyond ``z``.

    Examples
    --------
    >>> round(float(standard_normal_loss(0.0)), 4)
    0.3989
    >>> round(float(standard_normal_loss(1.0)), 4)
    0.0833
    """
    z = _f(z)
    return np.asarray(_phi(z) - z * special.ndtr(-z), dtype=np.float64)


def standard_normal_second_order_loss(z: ArrayLike) -> FloatArray:
    """Second-order standard normal loss ``G2(z) = ((z^2 + 1)(1 - Phi(z)) - z phi(z)) / 2``.

    Snyder & Shen (2019), eq. (C.23); Zipkin (2000), Section 6.2.2.
    ``G2(z) = integral_z^inf G(u) du``.
    """
    z = _f(z)
    return np.asarray(0.5 * ((z * z + 1.0) * special.ndtr(-z) - z * _phi(z)), dtype=np.float64)


def bisect_decreasing(
    func: Callable[[FloatArray], FloatArray],
    target: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    *,
    iterations: int = 64,
) -> FloatArray:
    """Vectorized bisection for ``func(x) = target`` with ``func`` non-increasing in x.

    Returns the point where ``func`` crosses ``target`` (to ``(hi - lo) / 2**iterations``).
    """
    lo = np.array(lo, dtype=np.float64, copy=True)
    hi = np.array(hi, dtype=np.float64, copy=True)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        above = func(mid) > target
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return 0.5 * (lo + hi)


def standard_normal_loss_inverse(g: ArrayLike) -> FloatArray:
    """Inverse of :func:`standard_normal_loss`: the ``k`` with ``G(k) = g``.

    Used to set the safety factor of a fill-rate target: Silver, Pyke & Thomas (2017),
    eq. (6.19), ``G_u(k) = Q (1 - P2) / sigma_L``. ``G`` is strictly decreasing from
    ``+inf`` to 0, so every ``g > 0`` has one solution (``g <= 0`` gives ``+inf``); it is
    found by vectorized Newton iteration from ``z0 = -g``.

    Examples
    --------
    >>> round(float(standard_normal_loss_inverse(0.0833)), 3)
    1.0
    """
    g = _f(g)
    # G(z) >= max(-z, 0), so z0 = -g lies left of the root; Newton on the convex,
    # decreasing G then rises monotonically to it (quadratic convergence near the root).
    z = -np.maximum(g, 0.0)
    for _ in range(100):
        tail = special.ndtr(-z)
        step = (standard_normal_loss(z) - g) / np.maximum(tail, 1e-300)
        z = z + step
        if np.all(np.abs(step) <= 1e-12 * np.maximum(1.0, np.abs(z))):
            break
    return np.asarray(np.where(g > 0, z, np.inf), dtype=np.float64)


def normal_loss(x: ArrayLike, mean: ArrayLike, sd: ArrayLike) -> FloatArray:
    """Loss ``E[(D - x)^+]`` of a normal ``D ~ N(mean, sd^2)``: ``sd * G((x - mean) / sd)``.

    A zero ``sd`` gives the deterministic loss ``(mean - x)^+``.
    """
    x, mean, sd = np.broadcast_arrays(_f(x), _f(mean), _f(sd))
    safe = np.where(sd > 0, sd, 1.0)
    out = safe * standard_normal_loss((x - mean) / safe)
    return np.where(sd > 0, out, np.maximum(mean - x, 0.0))


def gamma_loss(x: ArrayLike, shape: ArrayLike, scale: ArrayLike) -> FloatArray:
    """Loss of a gamma variable (shape ``a``, scale ``theta``) at ``x >= 0``.

    ``E[(D - x)^+] = a theta (1 - F_{a+1}(x)) - x (1 - F_a(x))``, where ``F_a`` is the
    gamma cdf with shape ``a`` (Snyder & Shen 2019, Section C.3.2; the identity
    ``t f_a(t) = a theta f_{a+1}(t)``).
    """
    x, a, theta = np.broadcast_arrays(_f(x), _f(shape), _f(scale))
    xs = np.maximum(x, 0.0) / np.where(theta > 0, theta, 1.0)
    tail_a1 = special.gammaincc(a + 1.0, xs)
    tail_a = special.gammaincc(a, xs)
    loss = a * theta * tail_a1 - np.maximum(x, 0.0) * tail_a
    # Below 0 the variable is always above x: loss = mean - x.
    return np.where(x < 0, a * theta - x, np.maximum(loss, 0.0))


def poisson_loss(x: ArrayLike, mean: ArrayLike) -> FloatArray:
    """Loss ``n(x) = E[(D - x)^+]`` of a Poisson ``D`` with mean ``mu`` at integer ``x``.

    ``n(x) = mu P(D >= x) - x P(D > x)`` (from ``k p(k) = mu p(k - 1)``), which equals
    Snyder & Shen (2019) eq. (C.35), ``-(x - mu)(1 - F(x)) + mu f(x)``.
    """
    x, mu = np.broadcast_arrays(np.floor(_f(x)), _f(mean))
    loss = mu * poisson_sf(x - 1.0, mu) - x * poisson_sf(x, mu)
    return np.asarray(np.where(x < 0, mu - x, np.maximum(loss, 0.0)), dtype=np.float64)


def poisson_second_order_loss(x: ArrayLike, mean: ArrayLike) -> FloatArray:
    """Second-order Poisson loss ``n2(x) = E[(D - x)^+ (D - x - 1)^+] / 2``.

    Snyder & Shen (2019), eq. (C.36): ``((x - mu)^2 + x)(1 - F(x)) - mu (x - mu) f(x)``,
    halved. For integer ``x >= 0``.
    """
    x, mu = np.broadcast_arrays(np.floor(_f(x)), _f(mean))
    tail = stats.poisson.sf(x, mu)
    pmf = stats.poisson.pmf(x, mu)
    value = 0.5 * (((x - mu) ** 2 + x) * tail - mu * (x - mu) * pmf)
    return np.asarray(np.maximum(value, 0.0), dtype=np.float64)


def negative_binomial_loss(x: ArrayLike, size: ArrayLike, prob: ArrayLike) -> FloatArray:
    """Loss of a negative binomial ``D`` (``size`` r, success probability ``p``) at integer x.

    With ``p(k) = C(k + r - 1, k) p^r (1 - p)^k`` (scipy's ``nbinom``) the mean is
    ``mu = r (1 - p) / p`` and ``k p_r(k) = mu p_{r+1}(k - 1)``, so
    ``n(x) = mu P(D' >= x) - x P(D > x)`` where ``D' ~ NB(r + 1, p)``.
    """
    x, r, p = np.broadcast_arrays(np.floor(_f(x)), _f(size), _f(prob))
    mu = r * (1.0 - p) / p
    loss = mu * negative_binomial_sf(x - 1.0, r + 1.0, p) - x * negative_binomial_sf(x, r, p)
    return np.asarray(np.where(x < 0, mu - x, np.maximum(loss, 0.0)), dtype=np.float64)
