# phiwarden: two commands on a fresh machine, `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?=
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: demo test test-fast bench lint fmt clean venv venv-all chromium lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip setuptools wheel

# Stamps make re-runs instant; they are rebuilt when pyproject.toml changes.
$(VENV)/.installed-base: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -c constraints.txt -e .
	@touch $@

$(VENV)/.installed-all: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -c constraints.txt -e '.[dev,spark,e2e,msg]'
	@touch $@ $(VENV)/.installed-base

venv: $(VENV)/.installed-base
venv-all: $(VENV)/.installed-all

## lock: resolve the newest versions pyproject.toml allows into constraints.txt (then run
## `make test` before committing it)
lock:
	rm -rf $(VENV)-lock && $(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip setuptools wheel
	$(VENV)-lock/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev,spark,e2e,msg]'
	{ sed -n '/^#/p' constraints.txt; $(VENV)-lock/bin/python -m pip freeze --exclude-editable | grep -v '^#'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt && rm -rf $(VENV)-lock

## demo: synthesise a hospital, ingest it, run every analysis, print a summary, serve the UI
demo: venv
	$(BIN)/phiwarden demo $(ARGS)

# Debian's chromium for the browser tests (Playwright cannot download a browser here).
# Without it `make test` stops with the reason, unless SKIP_BROWSER=1 skips those tests.
chromium:
	@test -x /usr/bin/chromium || (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)) \
	  || if [ "$${SKIP_BROWSER:-}" = 1 ]; then echo "chromium could not be installed: the browser tests will be skipped (SKIP_BROWSER=1)"; \
	     else echo "error: could not install chromium (apt-get install chromium failed); the browser tests need it. Fix the package source, or run with SKIP_BROWSER=1 to skip them." >&2; exit 1; fi

## test: the whole suite on SQLite and PostgreSQL, DuckDB and Spark, and in chromium
test: venv-all chromium
	SPARK_LOCAL_IP=127.0.0.1 $(BIN)/python -m pytest $(ARGS)

## test-fast: everything but Spark and PostgreSQL
test-fast: venv-all
	$(BIN)/python -m pytest -m "not spark and not postgres" $(ARGS)

## bench: speed, memory and detection quality at scale (figures printed, not asserted)
bench: venv-all
	SPARK_LOCAL_IP=127.0.0.1 $(BIN)/python benchmarks/run_all.py $(ARGS)

lint: venv-all
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: venv-all
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) phiwarden-data .pytest_cache .mypy_cache .ruff_cache
