# Cloud billing for Tryton 8.0 — single entry point.
#   make demo        run the product on SQLite with demo data (RESET=1 rebuilds)
#   make test        the whole suite (SQLite; PostgreSQL too when
#                    TRYTOND_DATABASE__URI names one), browser and end-to-end
#   make e2e         end-to-end tests on a real OpenStack test cloud
#   make bench       benchmarks (WORKLOAD=<name> SIZE=<n> for one)
#   make fuzz        hostile JSON-RPC calls, FUZZ_EXAMPLES (10000) per entry point
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BIN ?= python3.11
VENV := $(CURDIR)/.venv
PYTHON := $(VENV)/bin/python
PYTEST := $(PYTHON) -m pytest
SAO_VERSION := 8.0.11
SAO_ROOT := $(CURDIR)/.sao/package
PORT ?= 8000
DEMO_DB ?= demo
RESET ?=

export TRYTOND_CONFIG ?= $(CURDIR)/config/trytond.conf
export TRYTOND_DATABASE__PATH ?= $(CURDIR)/data
export TRYTOND_WEB__ROOT ?= $(SAO_ROOT)
export TRYTOND_EMAIL__URI ?= smtp://127.0.0.1:8025

.PHONY: help venv sao chromium demo test test-unit e2e bench fuzz clean \
	cloud-up cloud-down cloud-status cloud-logs

help:
	@sed -n '2,7p' Makefile | sed 's/^# *//'

# The virtualenv is rebuilt when the pins or the module metadata change.
$(VENV)/.installed: constraints.txt requirements-dev.txt addons/*/pyproject.toml
	@test -x $(PYTHON) || $(PYTHON_BIN) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -c constraints.txt -r requirements-dev.txt
	@touch $@
venv: $(VENV)/.installed

# The web client: tryton-sao ships built; only its runtime dependencies are
# installed (its dev dependencies try to download a browser).
$(SAO_ROOT)/.installed:
	@command -v npm >/dev/null || { echo "npm is required for the web client (apt-get install npm)"; exit 1; }
	rm -rf $(CURDIR)/.sao && mkdir -p $(CURDIR)/.sao
	cd $(CURDIR)/.sao && npm pack --silent tryton-sao@$(SAO_VERSION) >/dev/null && tar xzf tryton-sao-$(SAO_VERSION).tgz
	cd $(SAO_ROOT) && npm install --omit=dev --legacy-peer-deps --no-audit --no-fund --loglevel=error
	@touch $@
sao: $(SAO_ROOT)/.installed

# Debian's Chromium for the browser test (Playwright never downloads one).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing Debian chromium for the browser test"; \
		if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || { echo "ERROR: could not install chromium with apt-get"; exit 1; }; \
		else echo "ERROR: /usr/bin/chromium is missing and apt-get needs root: run 'sudo apt-get install chromium'"; exit 1; fi; \
	fi

demo: venv sao
	@PORT=$(PORT) DEMO_DB=$(DEMO_DB) RESET=$(RESET) PYTHON=$(PYTHON) scripts/demo.sh

test: venv sao chromium
	@PYTHON=$(PYTHON) scripts/test.sh

# Module tests only, on the current database (no browser, no cloud).
test-unit: venv
	@PYTHON=$(PYTHON) SUITE=unit scripts/test.sh

e2e: venv
	@PYTHON=$(PYTHON) SUITE=e2e scripts/test.sh

# The OpenStack test cloud alone (tests/openstack/README.md).
cloud-up cloud-down cloud-status cloud-logs: cloud-%:
	$(PYTHON_BIN) tests/openstack/cloud.py $*

# Benchmarks against stock Tryton (bench/README.md): SQLite in a temporary
# folder unless TRYTOND_DATABASE__URI names a PostgreSQL server.
bench: venv
	@$(PYTHON) bench/run.py $(if $(WORKLOAD),--workload $(WORKLOAD)) $(if $(SIZE),--size $(SIZE))

# The JSON-RPC fuzz test alone, long (tests/fuzz): SQLite unless
# TRYTOND_DATABASE__URI names a PostgreSQL server; FUZZ_SECONDS bounds the
# time per entry point; FUZZ_JOBS processes share the entry points (one per
# core). Ends with "fuzz: N tried, M crashed"; fails if M > 0.
FUZZ_EXAMPLES ?= 10000
FUZZ_JOBS ?= $(shell nproc)
fuzz: venv
	@FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_JOBS=$(FUZZ_JOBS) PYTHON=$(PYTHON) scripts/fuzz.sh

clean:
	rm -rf data artifacts .cache
