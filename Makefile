# Two commands do all the set-up on a fresh machine with Python 3.11, 3.12 or 3.13 and make:
#   make book   — create .venv on first use, execute what changed, publish _build/html
#   make test   — create .venv on first use, run the whole test suite
# `make book PYTHON=python3.12` builds with that Python: a .venv of another version is made anew.
ifeq ($(origin PYTHON),undefined)
PYTHON := python3
PYTHON_ASKED :=
else
PYTHON_ASKED := yes
endif
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
VERSION_OF = $(shell $(1) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
PYTHON_VERSION := $(call VERSION_OF,$(PYTHON))
VENV_PYTHON := $(wildcard $(BIN)/python)
VENV_VERSION := $(if $(VENV_PYTHON),$(call VERSION_OF,$(BIN)/python))
OLD_VERSIONS := 2.% 3.0 3.1 3.2 3.3 3.4 3.5 3.6 3.7 3.8 3.9 3.10
# Why the .venv cannot be kept, if it cannot: its Python is gone, too old, or not the
# version PYTHON asks for.
VENV_STALE := $(strip $(if $(VENV_PYTHON),$(if $(VENV_VERSION),\
  $(if $(filter $(OLD_VERSIONS),$(VENV_VERSION)),has Python $(VENV_VERSION)),\
  has a Python that does not start)))
VENV_STALE := $(strip $(or $(VENV_STALE),$(if $(and $(PYTHON_ASKED),$(VENV_VERSION),\
  $(PYTHON_VERSION)),$(if $(filter-out $(VENV_VERSION),$(PYTHON_VERSION)),\
  has Python $(VENV_VERSION)))))
# A PYTHON asked for that does not start is said, even with a .venv to keep.
CHECK_PYTHON := $(strip $(or $(VENV_STALE),$(if $(PYTHON_ASKED),$(if $(PYTHON_VERSION),,yes))))

.PHONY: book test benchmark lock clean FORCE

book: $(STAMP)
	$(BIN)/python -m cqbook build $(if $(JOBS),--jobs $(JOBS))

# The PDF edition of the published book: _build/pdf/<book>.pdf (Debian's Chromium prints it).
pdf: book
	$(BIN)/python -m cqbook pdf

# Three pytest-xdist workers on 2 cores (tests/conftest.py keeps tests that share a set-up on
# one worker): a worker waits on its builds' kernels, browser pages and timeouts, and the
# third fills those waits (suite 640 -> 601 s, two alternating rounds). The ten slowest
# tests are printed last; `make test TEST_WORKERS=0` runs in one process.
TEST_WORKERS ?= 3
test: $(STAMP)
	$(BIN)/python -m pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadgroup) \
	  --durations=10

# The build against the naive pipeline, how it scales to 30 and 60 chapters, and the test
# suite's wall time in a fresh clone, then benchmarks/results.md from all three (about three
# hours on 2 cores); `make benchmark BENCHMARK=--quick` is a smoke run that writes nothing.
benchmark: $(STAMP)
	$(BIN)/python benchmarks/run_benchmarks.py $(BENCHMARK)
	$(BIN)/python benchmarks/scaling.py $(BENCHMARK)
	$(BIN)/python benchmarks/suite_time.py $(BENCHMARK)
	$(BIN)/python benchmarks/report.py

# Installs the locked environment (every package, its version and its hashes) when the lock
# changes; the stamp is written last, so a failed install retries.
$(STAMP): $(LOCK) pyproject.toml $(if $(CHECK_PYTHON),FORCE)
	@if [ -n "$(CHECK_PYTHON)" ] || [ ! -x $(BIN)/python ]; then \
	  $(PYTHON) -c 'import sys; sys.exit(not (3, 11, 5) <= sys.version_info)' 2>/dev/null || { \
	    echo "make: PYTHON=$(PYTHON) is $(if $(PYTHON_VERSION),Python $(PYTHON_VERSION),not a" \
	      "Python that starts)$(if $(VENV_STALE), and $(VENV) $(VENV_STALE));" \
	      "the book needs Python 3.11 (3.11.5 or later), 3.12 or 3.13:" \
	      "make $(or $(MAKECMDGOALS),book) PYTHON=python3.11" >&2; exit 2; }; fi
	@if [ -n "$(VENV_STALE)" ]; then echo "make: $(VENV) $(VENV_STALE) and PYTHON=$(PYTHON)" \
	  "is Python $(PYTHON_VERSION): making $(VENV) anew"; rm -rf $(VENV); fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes \
	  -r $(LOCK)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# Re-resolves requirements.lock after a change to requirements.txt or pyproject.toml, keeping
# every version it can (the lock is the preference); commit the result.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml requirements.txt --extra test --extra dev \
	  --universal --python-version 3.11.5 --generate-hashes --custom-compile-command \
	  "make lock" --quiet -o $(LOCK)

FORCE:

clean:
	rm -rf _build runs sweeps

# What a pull request moved, as its reviewers see it: _build/review/index.html (old and new
# charts side by side) and _build/review/diff.md (the sticky comment). Exit 1 of cqbook
# ("changes found") is the point of a review, not a failure; 2 (an error) is.
.PHONY: review site
review: $(STAMP)
	$(BIN)/python -m cqbook review $(if $(BASE),--base $(BASE)) || test $$? -eq 1
	$(BIN)/python -m cqbook diff --format markdown $(if $(BASE),--base $(BASE)) \
	  > _build/review/diff.md || test $$? -eq 1
	@echo "review: _build/review/index.html, _build/review/diff.md"

# The published book (and the review page, if made) as plain folders, for upload.
site:
	test -e _build/html/index.html || { echo "no book yet: run make book" >&2; exit 2; }
	rm -rf _build/site && mkdir -p _build/site
	cp -RL _build/html _build/site/book
	if [ -d _build/review ]; then cp -RL _build/review _build/site/review; fi
	@echo "site: _build/site/book$(if $(wildcard _build/review), and _build/site/review)"
