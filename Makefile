# ecgkit: `make demo` and `make test` set everything up in .venv from constraints.txt.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install test test-slow sync-check shape readme nbtest pytest demo bench constraints clean lab

install: $(STAMP)

# (this machine's pip config lists local indexes that lack most packages: drop pip's warnings about them)
PIPQ := 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
$(STAMP): constraints.txt settings.ini setup.py pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	set -o pipefail; $(BIN)/python -m pip install -q -c constraints.txt pip setuptools wheel $(PIPQ)
	set -o pipefail; $(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]" $(PIPQ)
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

# README.md is nbs/index.ipynb as markdown (nbdev_readme needs Quarto, which is not installed).
readme: $(STAMP)
	$(BIN)/jupyter nbconvert --log-level=WARN --to markdown nbs/index.ipynb --output-dir . --output README

# nbs/ is the source: exporting, cleaning or regenerating the README must not change anything committed.
SYNCED := nbs ecgkit README.md
sync-check: $(STAMP)
	@if git rev-parse --git-dir >/dev/null 2>&1; then \
	  before="$$(git status --porcelain=v1 -- $(SYNCED); git diff -- $(SYNCED) | sha1sum)"; \
	  $(BIN)/nbdev_export && $(BIN)/nbdev_clean && $(MAKE) --no-print-directory readme || exit 1; \
	  after="$$(git status --porcelain=v1 -- $(SYNCED); git diff -- $(SYNCED) | sha1sum)"; \
	  if [ "$$before" != "$$after" ]; then \
	    echo "nbdev_export/nbdev_clean/make readme changed files (run them and commit):"; git status --short -- $(SYNCED); exit 1; fi; \
	  echo "sync-check: ecgkit/, nbs/ and README.md are in sync and clean"; \
	else echo "sync-check: not a git checkout, skipped"; fi

# The notebooks read as lessons: small export cells, each followed by its test (prints the table; fails past the limits).
shape:
	$(PYTHON) tools/nb_shape.py nbs

nbtest: $(STAMP)
	$(BIN)/nbdev_test --n_workers 2 --timing

pytest: $(STAMP)
	$(BIN)/python -m pytest -q

test: sync-check shape nbtest pytest

test-slow: $(STAMP)
	$(BIN)/nbdev_test --n_workers 2 --flags slow
	$(BIN)/python -m pytest -q --runslow

demo: $(STAMP)
	$(BIN)/ecgkit demo --out runs/demo

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_metric.py
	$(BIN)/python benchmarks/bench_synth.py
	$(BIN)/python benchmarks/bench_learner.py
	$(BIN)/python benchmarks/bench_digitize.py --half odd --scaling

lab: $(STAMP)
	$(BIN)/jupyter lab nbs

constraints: $(STAMP)
	( head -2 constraints.txt; $(BIN)/python -m pip freeze --all --exclude-editable | grep -v '^ecgkit' ) > constraints.new && mv constraints.new constraints.txt

clean:
	rm -rf $(VENV) build dist *.egg-info runs _proc
