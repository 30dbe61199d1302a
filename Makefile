# araevent: every target sets itself up from a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: setup train test lint format bench bench-aqmar publish clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned: a free choice pulls a multi-GB CUDA build
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

train: setup
	$(PY) train.py

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check src tests train.py evaluate.py benchmarks scripts
	$(VENV)/bin/ruff format --check src tests train.py evaluate.py benchmarks scripts

format: setup
	$(VENV)/bin/ruff check --fix src tests train.py evaluate.py benchmarks scripts
	$(VENV)/bin/ruff format src tests train.py evaluate.py benchmarks scripts

clean:
	rm -rf outputs multirun .pytest_cache .ruff_cache

publish: setup
	$(PY) -m araevent.cli publish $(RUN) --repo-id $(REPO) $(ARGS)

# benchmarks/results.md + results.json: speed, memory, scaling (minutes; see benchmarks/bench.py)
bench: setup
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) benchmarks/bench.py
	$(PY) benchmarks/bench.py --only scale

# benchmarks/aqmar.md: tiny model vs CRF on ../shared/data/aqmar (skips when it is absent)
bench-aqmar: setup
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) benchmarks/aqmar.py
