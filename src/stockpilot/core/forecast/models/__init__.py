"""One module per model family; each exposes ``<model>_forecast(y, h, ...) -> PanelForecast``."""
