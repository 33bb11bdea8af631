# paperflow: `make run` processes the bundled sample paper; `make test` runs every test.
# Both create .venv on first use. Nothing else needs installing or starting by hand.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAMPLE := samples/webb2017-vespa-peerjcs.pdf
EVAL_DIR ?= ../shared/eval

export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_HOME ?= $(CURDIR)/.paperflow/prefect
export PAPERFLOW_DATA_DIR ?= $(CURDIR)/.paperflow/data

.PHONY: venv run test chromium eval lint bench schema clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: venv
	$(BIN)/paperflow process $(SAMPLE) --out-dir out

test: venv chromium texlive
	$(BIN)/python -m pytest -ra -p no:cacheprovider

# The UI test drives Debian's Chromium with Playwright.
chromium:
	scripts/ensure_chromium.sh

eval: venv
	$(BIN)/paperflow eval $(EVAL_DIR) --json out/eval.json

lint: venv
	$(BIN)/ruff check .

bench: venv
	$(BIN)/python -m benchmarks.run

schema: venv
	$(BIN)/paperflow schema --out paperflow/schema/paper-metadata.schema.json

clean:
	rm -rf out .paperflow

.PHONY: up down
# The local stack: Prefect server (UI on :4200), deployments of prefect.yaml, a worker.
up: venv
	$(BIN)/paperflow up

down: venv
	$(BIN)/paperflow down

.PHONY: texlive corpus
# Debian's TeX Live with the publisher classes, for the LaTeX corpus and its test.
texlive:
	scripts/ensure_texlive.sh

# LaTeX papers from publisher classes with exact ground truth: `paperflow eval out/corpus`.
corpus: venv
	scripts/ensure_texlive.sh && $(BIN)/python scripts/corpus/generate.py --out out/corpus --per-template 4 --seed 1
