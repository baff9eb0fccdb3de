# Two entry points: `make demo` runs the main job, `make test` runs the tests.
# Each sets up its own virtual environment in .venv from constraints.txt (the
# resolved set CI tested), so a fresh machine needs only Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test test-fast lint bench venv constraints clean chromium

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# setuptools' editable install prints a caution about same-named folders; the packages are found
	# by pyproject's packages.find with their data, so there is nothing to warn about
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	# Prefect's database migrations, run once here: a new Prefect home (the demo's) starts from a copy
	$(BIN)/python -m flows.prefect_db
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/jiuzhu demo

# The HTML report is checked in a real headless browser: Debian's chromium with
# Chinese fonts, installed with apt when missing (needs root, as on CI).
CHROMIUM := $(shell command -v chromium || command -v chromium-browser)
CHROMEDRIVER := $(shell command -v chromedriver)

chromium:
ifeq ($(and $(CHROMIUM),$(CHROMEDRIVER)),)
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null
endif

# Every tier, on both cores (pytest-xdist; each test has its own home and warehouse).
test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n 2

# The fast tier for your own loop: pure functions and the warehouse, no Prefect, no browser.
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n 2 -m "not slow" tests/unit tests/warehouse

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The whole cycle at district scale (about a minute); `--scale municipal` takes ~6 min and ~6 GiB.
bench: $(STAMP)
	$(BIN)/python bench/bench_cycle.py --scale district

# Re-resolve the pinned set after changing pyproject.toml (commit the result).
constraints:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^jiuzhu' > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache jiuzhu-demo
