# Two commands matter: `make demo` and `make test`. Both set themselves up from a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.synced

.PHONY: setup demo test lint bench screenshots clean

# A virtual environment with uv inside it, then the locked dependencies (uv.lock) installed
# exactly, with their bytecode compiled; re-runs only when the lock or pyproject changes.
$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet "uv==0.13.8"

$(STAMP): $(UV) uv.lock pyproject.toml
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --compile-bytecode --python $(VENV)/bin/python
	touch $(STAMP)

# The project's own bytecode too (only what changed is recompiled): every process the hub
# starts would otherwise compile its modules from source when PYTHONDONTWRITEBYTECODE is set.
setup: $(STAMP)
	@$(VENV)/bin/python -m compileall -q -j 0 hub connectors schemas desensitize catalog bench tests \
		>/dev/null

demo: setup
	$(VENV)/bin/hub demo $(DEMO_ARGS)

# The suite runs on every core up to four (pytest-xdist), a test file per worker: files share
# module fixtures, and each worker builds the session district once. TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); echo $$(( n < 4 ? n : 4 )))

test: setup
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Ruff, mypy, then the import contracts of .importlinter (package rule, hub layers, no cycles).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# The console's screenshots in docs/console, taken by its browser tests on the test district.
screenshots: setup
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile --screenshots \
		tests/console tests/casework/test_loop_console.py

# Benchmarks on generated data; writes docs/benchmarks.md (BENCH_ARGS="--residents 100000").
bench: setup
	$(VENV)/bin/python -m bench $(BENCH_ARGS)


clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
