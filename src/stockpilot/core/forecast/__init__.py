"""Forecasting kernels: many series as one (N, T) matrix in, a :class:`PanelForecast` out.

Entry point: :func:`fit_predict`. Models: :class:`ForecastModel`.
"""

from stockpilot.core.forecast.base import ForecastModel, PanelForecast
from stockpilot.core.forecast.registry import available_models, fit_predict

__all__ = ["ForecastModel", "PanelForecast", "available_models", "fit_predict"]
