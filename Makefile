# Two entry points for users: `make demo` (install + first report) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED_NLTK := $(abspath ../shared/nltk_data)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
ifneq ($(wildcard $(SHARED_NLTK)),)
export NLTK_DATA ?= $(SHARED_NLTK)
endif

.PHONY: install demo test lint bench

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -e ".[dev,ray]"
	touch $@

demo: install
	$(BIN)/textig explain "two children playing football on a green field in front of a white house; dark clouds in the sky;" --out out/demo

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
