# The two commands of the README: `make demo` (the quickstart on embedded SQLite)
# and `make test` (the whole suite). Each builds .venv first if it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench bench-compare bench-scale soak clean system-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/quickstart.py --fresh --crash-after 2 || true
	$(PY) examples/quickstart.py

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

# Debian packages some tests need (a headless Chromium for the dashboard's browser test).
# Installed when missing and possible (root with apt-get); otherwise that test skips,
# except under CI=true, where it fails.
system-deps:
	@command -v chromedriver >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null \
	      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
	           apt-get install -y -q chromium chromium-driver >/dev/null; }; \
	  else echo "make system-deps: cannot install chromium-driver (not root or no apt-get)"; fi; }

# Two test processes (pytest-xdist): most tests wait on commits, sleeps and child
# processes, so two overlap well on two cores. Not "-n auto": each process holds its own
# Postgres database and connections, and the shared server allows 100 in all.
test: $(STAMP) system-deps lint typecheck
	$(PY) -m pytest -q -p no:cacheprovider -n 2

bench: $(STAMP)
	$(PY) benchmarks/run.py

# The released dbos package in an environment of its own, for the side-by-side run.
.venv-dbos/.installed:
	$(PYTHON) -m venv .venv-dbos
	.venv-dbos/bin/python -m pip install --quiet dbos 'psycopg[binary]'
	touch .venv-dbos/.installed

# SCALE_ARGS adds options: --n 1000,10000,100000, --db, and --rows (listing, the claim and
# collection over up to a million rows written in bulk).
bench-scale: $(STAMP)
	$(PY) benchmarks/scale.py $(SCALE_ARGS)

bench-compare: $(STAMP) .venv-dbos/.installed
	$(PY) benchmarks/compare.py

# The chaos soak: 1,000 queued workflows over three workers SIGKILLed every 2-6 s, on a
# Postgres server of its own (initdb in a temp dir, its own port) restarted every 3-20 s,
# gracefully or as a crash. One summary line; exit 1 on any violation. SOAK_ARGS adds
# options (python -m benchmarks.soak --help).
soak: $(STAMP)
	$(PY) -m benchmarks.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) .venv-dbos .mypy_cache .pytest_cache .ruff_cache
