# The README's commands: `make test` and `make demo`. Both create .venv/ and install on first use.
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test test-fast demo bench docs docs-serve clean-venv

$(STAMP): constraints.txt pyproject.toml scripts/setup_env.sh
	bash scripts/setup_env.sh

setup: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q tests

test-fast: $(STAMP)
	$(PY) -m pytest -q tests -m "not integration"

demo: $(STAMP)
	$(PY) -m scripts.demo $(ARGS)

bench: $(STAMP)
	$(PY) scripts/bench_optimizers.py $(ARGS)

# The documentation site (docs/, mkdocs.yml) into site/; --strict: a broken link or reference fails.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve

clean-venv:
	rm -rf $(VENV)
