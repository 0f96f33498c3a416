# One-step setup and the two README commands.
#
#   make demo   set up, then `dvc repro` the whole pipeline on the embedded CPU demo
#   make test   set up, then run the test suite (what .ci/run calls)
#
# TORCH=cpu (default) installs torch==2.13.0 (constraints/cpu.txt) into a fresh .venv.
# TORCH=system keeps the torch that $(PYTHON) already has (your CUDA build on a GPU box):
# the venv sees the system site-packages and every pip call is pinned to that torch version.

PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= cpu
MARKERS ?= not gpu
PYTEST_ARGS ?=

BIN   := $(VENV)/bin
PIP   := PIP_DISABLE_PIP_VERSION_CHECK=1 $(BIN)/python -m pip
STAMP := $(VENV)/.setup-$(TORCH)
# Constraints applied to every pip call: the file for TORCH=cpu, a generated pin for TORCH=system.
# constraints/resolver.txt pins the S3 client stack whose free resolution takes pip over an hour.
CONSTRAINTS := $(if $(filter system,$(TORCH)),$(VENV)/constraints-system.txt,constraints/cpu.txt) -c constraints/resolver.txt
# Stage CLIs (ko-*) and dvc come from the venv, also inside dvc.yaml commands.
RUN := PATH="$(CURDIR)/$(BIN):$$PATH"

.PHONY: setup demo test lint clean-venv help

help:
	@sed -n '2,10p' Makefile

setup: $(STAMP)

$(STAMP): pyproject.toml constraints/cpu.txt constraints/resolver.txt Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python >= 3.10 is required, found " + sys.version.split()[0])'
	@case "$(TORCH)" in cpu|system) ;; *) echo "TORCH must be cpu or system, not '$(TORCH)'" >&2; exit 2;; esac
	@if [ -f $(VENV)/.torch-mode ] && [ "$$(cat $(VENV)/.torch-mode)" != "$(TORCH)" ]; then \
	  echo "$(VENV) was set up with TORCH=$$(cat $(VENV)/.torch-mode); run 'make clean-venv' first to switch to TORCH=$(TORCH)" >&2; exit 2; fi
	@echo "== creating $(VENV) (TORCH=$(TORCH))"
	@if [ "$(TORCH)" = system ]; then \
	  $(PYTHON) -c 'import torch' 2>/dev/null || { echo "TORCH=system: '$(PYTHON)' cannot import torch; install your CUDA torch first" >&2; exit 2; }; \
	  $(PYTHON) -c 'import sys; sys.exit(sys.prefix != sys.base_prefix)' || { echo "TORCH=system: '$(PYTHON)' is itself a virtualenv, whose packages a new venv cannot see; use the system or conda python that has torch" >&2; exit 2; }; \
	  $(PYTHON) -m venv --system-site-packages $(VENV); \
	  $(PYTHON) -c 'import torch; print("torch==" + torch.__version__)' > $(VENV)/constraints-system.txt; \
	else \
	  $(PYTHON) -m venv $(VENV); \
	fi
	@echo "$(TORCH)" > $(VENV)/.torch-mode
	@echo "== installing torch and build tools"
	$(PIP) install -q -c $(CONSTRAINTS) setuptools wheel $(if $(filter cpu,$(TORCH)),torch)
	@echo "== installing deepspeed (built against the torch above)"
	$(PIP) install -q -c $(CONSTRAINTS) --no-build-isolation "deepspeed>=0.16"
	@echo "== installing this project with all stages' dependencies"
	$(PIP) install -q -c $(CONSTRAINTS) -e ".[all,dev]"
	@touch $(STAMP)
	@echo "== setup done: source $(VENV)/bin/activate to use dvc and the ko-* commands"

demo: setup
	$(RUN) dvc repro

test: setup
	$(RUN) python -m pytest -m "$(MARKERS)" $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean-venv:
	rm -rf $(VENV)
