# The README's commands: `make test` and `make demo`. Both create .venv/ and install on first use.
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test test-fast demo bench clean-venv

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

clean-venv:
	rm -rf $(VENV)
