# docflow: two commands on a fresh machine with only Python 3.11+
#   make run    set up, then run the main job on the seed articles (embedded Redis, SQLite)
#   make test   set up, then run every test (starts what the tests need)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test setup lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/docflow run seeds/
	$(BIN)/docflow search F-35

test: $(STAMP)
	bash tests/services.sh
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check tasks workers tests
	$(BIN)/ruff format --check tasks workers tests
	$(BIN)/mypy tasks workers

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
