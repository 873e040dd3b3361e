# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 7071
DATA_DIR ?= .data
PYTEST_ARGS ?=

.PHONY: run demo test unit bench clean azurite

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

node_modules/.bin/azurite-blob:
	npm install --no-audit --no-fund --silent azurite

azurite: node_modules/.bin/azurite-blob

## Start the embedded Functions + Durable host serving function_app.py on PORT (default 7071),
## with the sample documents generated under $(DATA_DIR)/storage/samples on first run, and the
## inbox (blob-upload trigger) watching $(DATA_DIR)/storage/inbox unless BATCHINFER_INBOX_* say otherwise.
run: $(VENV)/.installed
	$(PY) -m batchinfer prepare --data-root $(DATA_DIR)
	mkdir -p $(DATA_DIR)/storage/inbox
	BATCHINFER_INBOX_CONTAINER=$${BATCHINFER_INBOX_CONTAINER:-inbox} BATCHINFER_INBOX_STORAGE=$${BATCHINFER_INBOX_STORAGE:-file://$(abspath $(DATA_DIR))/storage} \
	BATCHINFER_DATA_ROOT=$(DATA_DIR) FUNCHOST_API_KEYS_SETTING=BATCHINFER_API_KEYS FUNCHOST_API_KEYS_EXEMPT_ROUTES=woodwide/signed/ $(PY) -m funchost start --app-dir . --port $(PORT) --data-dir $(DATA_DIR)/host

## In a second terminal while `make run` serves: analyze the samples and print the report.
demo: $(VENV)/.installed
	$(PY) -m batchinfer demo --endpoint http://127.0.0.1:$(PORT)/api --data-root $(DATA_DIR)

## Unit, integration and end-to-end tests (Azurite is installed locally and started by the tests).
## Static checks run first, so CI (.ci/run calls `make test`) fails on a lint or type error too.
test: $(VENV)/.installed azurite lint
	$(PY) -m pytest $(PYTEST_ARGS)

unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

## Static checks (ruff's rule selection and mypy strict on src/, both set in pyproject.toml).
## ruff checks and formats the shipped code, the tests and the benchmarks alike.
## `ruff format --check` keeps every Python file in the formatter's layout (line length 100).
.PHONY: lint
lint: $(VENV)/.installed
	$(VENV)/bin/ruff format --check src function_app.py tests bench
	$(VENV)/bin/ruff check src function_app.py tests bench
	$(VENV)/bin/mypy

bench: $(VENV)/.installed
	$(PY) bench/fanout.py

clean:
	rm -rf $(VENV) node_modules $(DATA_DIR) .pytest_cache
