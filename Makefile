# The README's two commands: `make demo` (the main job) and `make test`.
# Every target installs what it needs, idempotently, from pinned versions.

SHELL := /bin/bash
.DEFAULT_GOAL := help

ROOT := $(abspath .)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := $(ROOT)/.venv
CACHE := $(ROOT)/.cache
NPM_PACK := $(CACHE)/npm-pack
PACKED := $(shell node -p 'Object.entries(require("./package.json").packedBuilds).map(([n, v]) => n + "@" + v).join(" ")' 2>/dev/null)

# Ape keeps its data (compiled dependencies, accounts) inside the project and
# finds the pip-installed vyper; anvil and cast come from npm.
export APE_DATA_FOLDER := $(CACHE)/ape
export VVM_BINARY_PATH := $(CACHE)/vvm
export PATH := $(VENV)/bin:$(CACHE)/bin:$(PATH)
export PYTHONDONTWRITEBYTECODE := 1

PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PACK_STAMP := $(NPM_PACK)/.installed
TOOLS_STAMP := $(CACHE)/bin/.installed
SYSTEM_STAMP := $(CACHE)/.system-packages
# Debian packages the tests start themselves: a Redis server (the keeper fleet's broker) and a
# headless browser (the dashboard's tests). Installed when missing; a user who is not root is told
# which to install.
SYSTEM_PACKAGES := redis-server chromium
SYSTEM_COMMANDS := redis-server chromium
BOA_TESTS := tests/python tests/static tests/unit tests/security tests/fuzz tests/stateful
FUZZ_EXAMPLES ?= 2000

.PHONY: help setup compile demo bench test test-unit test-integration fuzz lint format clean

help:
	@echo "make demo   90 days of real prices through an index vault and its keeper on a local market (the main job)"
	@echo "make test   run every test (installs what it needs)"
	@echo "make bench  gas of the vault's flows at 2..50 constituents (bench/results/)"
	@echo "make fuzz   the property and stateful tests at FUZZ_EXAMPLES examples each (default 2000)"
	@echo "make lint   ruff check and format check"
	@echo "make setup  install only (.venv, node_modules, packed builds, anvil/cast on PATH)"

setup: $(PY_STAMP) $(NODE_STAMP) $(PACK_STAMP) $(TOOLS_STAMP) $(SYSTEM_STAMP)

# Installs only what is missing (`apt-get update` first, once); re-checked when the list changes.
$(SYSTEM_STAMP): Makefile
	@mkdir -p $(CACHE)
	@missing=""; for c in $(SYSTEM_COMMANDS); do command -v $$c >/dev/null 2>&1 || missing=1; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "install these Debian packages (as root): apt-get install -y $(SYSTEM_PACKAGES)"; exit 1; \
	  fi; \
	  echo "apt-get install $(SYSTEM_PACKAGES)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null \
	    || exit 1; \
	fi
	@touch $@

$(PY_STAMP): pyproject.toml constraints.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[chain,test,dev,analytics]' \
	  2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }; test $${PIPESTATUS[0]} -eq 0
	@touch $@

# `npm install --no-save` rather than `npm ci`: npm records only this platform's optional
# anvil/cast binary packages in the lock, which `npm ci` then refuses on any platform.
$(NODE_STAMP): package.json package-lock.json
	npm install --no-save --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

# Packages whose full `npm install` fails offline (git URLs in their trees):
# only their tarballs are fetched and unpacked, never committed. Each is unpacked aside and moved into
# place whole, so an interrupted setup never leaves a partial package behind.
$(PACK_STAMP): package.json
	@mkdir -p $(NPM_PACK)
	@for spec in $(PACKED); do \
	  dir="$(NPM_PACK)/$$spec"; \
	  if [ ! -d "$$dir/package" ]; then \
	    echo "npm pack $$spec"; rm -rf "$$dir/.unpack"; mkdir -p "$$dir/.unpack"; \
	    (cd "$$dir/.unpack" && npm pack "$$spec" --silent >/dev/null && tar xzf *.tgz && mv package ../package) \
	      || exit 1; \
	    rm -rf "$$dir/.unpack"; \
	  fi; \
	done
	@touch $@

# anvil and cast: the native binaries of the npm packages, for this machine;
# and the pip vyper where vvm looks, so Ape never asks GitHub for a compiler.
# anvil runs through a wrapper that:
# - keeps its old block states in memory only: by default it moves up to 3,600 of them to
#   ~/.foundry/anvil/tmp (several GB per run on our chains) and leaves them there when stopped
#   (nothing here reads a state that old);
# - drops `--steps-tracing`, which ape-foundry always passes: anvil then keeps every step of every
#   transaction in memory (the demo's anvil grew to 12 GB, 1 GB without). Nothing here reads those
#   steps; `debug_traceTransaction` still works, by re-executing.
$(TOOLS_STAMP): $(NODE_STAMP) $(PY_STAMP) Makefile
	@mkdir -p $(CACHE)/bin $(VVM_BINARY_PATH)
	@for tool in anvil cast; do \
	  bin=$$(ls -d $(ROOT)/node_modules/@foundry-rs/$$tool-*/bin/$$tool 2>/dev/null | head -n1); \
	  test -n "$$bin" || { echo "no native $$tool binary in node_modules"; exit 1; }; \
	  rm -f $(CACHE)/bin/$$tool; \
	  if [ $$tool = anvil ]; then \
	    printf '%s\n' '#!/usr/bin/env bash' \
	      '# anvil without on-disk state history (unless the caller chose one) and without steps tracing (see the Makefile).' \
	      'args=(); history=(--max-persisted-states 0)' \
	      'for a in "$$@"; do case "$$a" in --steps-tracing) ;; --max-persisted-states|--max-persisted-states=*|--prune-history|--prune-history=*) history=(); args+=("$$a") ;; *) args+=("$$a") ;; esac; done' \
	      'exec '"$$bin"' "$${history[@]}" "$${args[@]}"' > $(CACHE)/bin/anvil; \
	    chmod +x $(CACHE)/bin/anvil; \
	  else \
	    ln -sf "$$bin" $(CACHE)/bin/$$tool; \
	  fi; \
	done
	@ln -sf $(VENV)/bin/vyper $(VVM_BINARY_PATH)/vyper-0.4.3
	@touch $@

# Ape does not notice a change to an excluded Vyper module (see ape-config.yaml) and would
# keep a stale build of the contracts importing it: every target that runs Ape compiles afresh.
compile: setup
	ape compile --force > /dev/null

demo: compile
	ape run demo

bench: compile
	ape run bench

# Each run prints its slowest tests (--durations), so a test that grows shows in every log.
test: compile
	pytest -n 2 -p no:ape_test --durations=10 $(BOA_TESTS)
	ape test --durations=10 tests/integration
	ape test --durations=5 tests/fork --network ethereum:market-fork:foundry

test-unit: setup
	pytest -n 2 -p no:ape_test $(BOA_TESTS)

# The long profile of the security harness: every property and stateful test with FUZZ_EXAMPLES examples
# (hypothesis profile "fuzz", tests/conftest.py). It runs as long as that takes; raise FUZZ_EXAMPLES to go longer.
fuzz: setup
	HYPOTHESIS_PROFILE=fuzz FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) pytest -n 2 -p no:ape_test tests/fuzz tests/stateful

test-integration: compile
	ape test tests/integration

lint: setup
	ruff check .
	ruff format --check .

format: setup
	ruff check --fix .
	ruff format .

clean:
	rm -rf $(VENV) node_modules $(CACHE) .build
