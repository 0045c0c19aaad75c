# Two commands do all the set-up on a fresh machine with Python 3.11+ and make:
#   make book   — create .venv on first use, execute what changed, publish _build/html
#   make test   — create .venv on first use, run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: book test benchmark clean

book: $(STAMP)
	$(BIN)/python -m cqbook build $(if $(JOBS),--jobs $(JOBS))

test: $(STAMP)
	$(BIN)/python -m pytest

benchmark: $(STAMP)
	$(BIN)/python benchmarks/run_benchmarks.py

# Re-installs when the pins change; the stamp is written last, so a failed install retries.
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

clean:
	rm -rf _build runs sweeps
