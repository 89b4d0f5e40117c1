# Two entry points for users: `make demo` (install + first report) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_CAPTION := "two children playing football on a green field in front of a white house; dark clouds in the sky;"
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
# A user's machine: no NLTK data, no ../shared, an empty cache (everything needed ships with textig).
FRESH_ENV := env -u NLTK_DATA TEXTIG_SHARED=$(abspath out/fresh/no-shared) \
	TEXTIG_CACHE=$(abspath out/fresh/cache)
FRESH_TESTS := tests/test_stopwords.py tests/test_embeddings_glove.py \
	tests/test_embeddings_sbert.py tests/test_cache_keys.py tests/test_cold_start.py

.PHONY: install demo test test-fresh lint bench

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -e ".[dev,ray]"
	touch $@

demo: install
	$(BIN)/textig explain $(DEMO_CAPTION) --out out/demo

test: install
	$(BIN)/python -m pytest -q

# CI runs this after `make test`: the stopword/embedding/cache tests and the demo once more as
# on a fresh machine (shared-data tests skip there, as they would for a user).
test-fresh: install
	rm -rf out/fresh
	$(FRESH_ENV) $(BIN)/python -m pytest -q -p no:cacheprovider $(FRESH_TESTS)
	$(FRESH_ENV) $(BIN)/textig explain $(DEMO_CAPTION) --out out/fresh/demo
	test -n "$$(find out/fresh/demo -name "*.html" -size +0)"

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
