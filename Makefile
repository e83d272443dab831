# stockpilot developer entry points. Every target sets up what it needs itself.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
UV := $(shell command -v uv 2>/dev/null)
export UV_PYTHON_DOWNLOADS := never
PYTEST_FLAGS ?= -q
DEMO_DIR ?= demo_out

.PHONY: setup demo test lint typecheck check bench-env clean

$(VENV)/.synced: pyproject.toml uv.lock
	@if [ -z "$(UV)" ]; then $(PYTHON) -m pip install --quiet --disable-pip-version-check uv; fi
	uv sync --frozen --all-groups
	@touch $@

setup: $(VENV)/.synced

demo: setup
	$(VENV)/bin/stockpilot demo --out $(DEMO_DIR)

test: setup lint typecheck
	$(VENV)/bin/python -m pytest $(PYTEST_FLAGS)

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

typecheck: setup
	$(VENV)/bin/mypy

# A second environment for peers that need numpy<2 (stockpyl's serial SSM).
bench-env:
	@if [ -z "$(UV)" ]; then $(PYTHON) -m pip install --quiet --disable-pip-version-check uv; fi
	uv venv --allow-existing .venv-peers
	uv pip install --python .venv-peers "stockpyl==1.0.2" "numpy<2" "scipy<1.15"

clean:
	rm -rf $(VENV) .venv-peers $(DEMO_DIR) .mypy_cache .ruff_cache
