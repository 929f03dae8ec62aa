# Chitram Serverless — the two commands a developer needs are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.12 (Lambda's runtime): a pyenv build if the machine has one, else any python3.12 that runs.
PYTHON_BOOT ?= $(shell for p in $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3.12 2>/dev/null | sort -V | tail -n 1) $$(command -v python3.12); do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && { echo "$$p"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help
help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

$(STAMP): requirements.txt requirements-dev.txt
	@test -n "$(PYTHON_BOOT)" || { echo "Python 3.12 not found (set PYTHON_BOOT=/path/to/python3.12)"; exit 1; }
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip<26.3"  # chalice 1.34 requires pip<26.3 (it runs pip to build the package)
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

.PHONY: venv
venv: $(STAMP)  ## create the Python 3.12 virtualenv with every dependency

-include infra/make.mk

# Browser assets the site serves itself (Swagger UI for /docs), from npm by lockfile; never committed.
WEB_VENDOR_STAMP := web-vendor/node_modules/.installed
$(WEB_VENDOR_STAMP): web-vendor/package.json web-vendor/package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	npm ci --prefix web-vendor --ignore-scripts --no-audit --no-fund
	touch $@

.PHONY: web-vendor
web-vendor: $(WEB_VENDOR_STAMP)  ## install the site's third-party browser assets (Swagger UI for /docs)

.PHONY: run
run: $(STAMP) check-system web-vendor  ## start the whole product locally on one origin (edge, API, worker, moto, redis, site); Ctrl-C stops it
	$(PY) scripts/stack.py

# Line and branch coverage of chalicelib/ in the in-process tiers (the stack's own processes are not measured).
COVERAGE := --cov=chalicelib --cov-branch --cov-report=term:skip-covered

# make test: ruff first (seconds), then three things side by side, since most of a test run is waiting on servers:
# the main tiers in two pytest workers (one runs every test of the shared stack, so there is still one stack and one
# chromium; the other the unit, functional, packaging and fuzz tiers and the tests that start servers of their own;
# see xdist_group in tests/conftest.py), mypy, and the LocalStack tier. The last two write to $(TEST_LOGS), printed
# when they end; the run fails if any of the three failed.
TEST_LOGS := build/test-logs
# --durations: every run's log names its slowest tests, where a fresh clone's 10-minute budget (issue 13) goes.
MAIN_TIERS := $(VENV)/bin/pytest -m "not slow and not localstack" -n 2 --dist loadgroup --durations=20 $(COVERAGE)
LOCALSTACK_TIER := scripts/localstack/run.sh $(VENV)/bin/pytest -m "integration or localstack" tests/integration

.PHONY: test
test: test-deps  ## every tier: lint, types, unit, functional, integration, browser, load, packaging, LocalStack
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@mkdir -p $(TEST_LOGS)
	@echo "mypy and the LocalStack tier run beside the main tiers; their output follows ($(TEST_LOGS)/)"
	@$(VENV)/bin/mypy > $(TEST_LOGS)/mypy.log 2>&1 & mypy=$$!; \
	$(LOCALSTACK_TIER) > $(TEST_LOGS)/localstack.log 2>&1 & localstack=$$!; \
	trap 'kill $$mypy $$localstack 2>/dev/null; wait; exit 130' INT TERM; \
	$(MAIN_TIERS); main=$$?; \
	wait $$mypy; types=$$?; echo "== mypy (exit $$types)"; cat $(TEST_LOGS)/mypy.log; \
	wait $$localstack; tier=$$?; echo "== LocalStack tier (exit $$tier)"; cat $(TEST_LOGS)/localstack.log; \
	echo "== main tiers: exit $$main; mypy: exit $$types; LocalStack tier: exit $$tier"; \
	[ $$main -eq 0 ] && [ $$types -eq 0 ] && [ $$tier -eq 0 ]

# What the tests need on a fresh clone: the Debian packages first (apt holds one lock), then the project's virtualenv,
# LocalStack's and the npm assets side by side (separate directories, nothing shared but pip's cache).
.PHONY: test-deps
test-deps: check-system
	@$(MAKE) --no-print-directory -j3 --output-sync=target $(STAMP) web-vendor localstack-install

.PHONY: localstack-install
localstack-install:  ## create .venv-localstack (Python 3.13 + LocalStack) for the LocalStack tier
	scripts/localstack/install.sh

.PHONY: test-localstack
test-localstack: $(STAMP) check-system localstack-install  ## integration tier with S3+SQS on LocalStack (DynamoDB on moto)
	scripts/localstack/run.sh $(VENV)/bin/pytest -m "integration or localstack" tests/integration

.PHONY: test-fast
test-fast: $(STAMP)  ## unit + functional only (no servers), with coverage
	$(VENV)/bin/pytest tests/unit tests/functional -q $(COVERAGE)

.PHONY: lint
lint: $(STAMP)  ## ruff + mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

.PHONY: format
format: $(STAMP)  ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Debian packages the stack and the browser tests need: redis-server for the cache nodes, chromium for
# Playwright (its own browser download is impossible offline), libvips for the pyvips benchmark baseline.
SYSTEM_PACKAGES := redis-server chromium
.PHONY: check-system
check-system:  ## install the Debian packages the stack needs if they are missing, and npm if there is none (needs root)
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

.PHONY: clean
clean:  ## remove the virtualenv, caches and build output
	rm -rf $(VENV) .venv-localstack build .run .pytest_cache .mypy_cache .ruff_cache

.PHONY: bench
bench: $(STAMP) check-system  ## run the benchmarks in scripts/bench (ratios against baselines; see docs/benchmarks.md)
	@dpkg -s libvips42 >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libvips42 >/dev/null; }
	$(PY) scripts/bench/thumbnails.py --write-docs
	$(PY) scripts/bench/upload_cost.py --write-docs
	$(PY) scripts/bench/package_size.py  # builds build/package, which cold_start.py measures
	$(PY) scripts/bench/cold_start.py --write-docs
	$(PY) scripts/bench/own_modules.py  # what our modules add over the libraries; how much of it is @dataclass
	$(PY) scripts/bench/ring.py
	$(PY) scripts/bench/cache_read.py
	$(PY) scripts/bench/read_path.py        # starts the local stack; records reads_p99_c20 for make bench-quick
	$(PY) scripts/bench/upload_ready.py --quick  # the same; records upload_to_ready_p95_c20
	$(PY) scripts/bench/emulator_cost.py --repeat 40  # moto's CPU per call of one upload (the emulator's share)

FUZZ_SECONDS ?= 300
.PHONY: fuzz
fuzz: $(STAMP)  ## fuzz the image pipeline, scrubbers and request parsers with atheris (FUZZ_SECONDS each)
	@mkdir -p build; for t in process scrubbers multipart json_body; do \
		echo "== fuzz $$t ($(FUZZ_SECONDS)s)"; \
		$(PY) -m tests.fuzz.run $$t --seconds $(FUZZ_SECONDS) > build/fuzz-$$t.log 2>&1 \
			|| { tail -40 build/fuzz-$$t.log; echo "fuzz $$t: crash saved in build/fuzz/crashes/$$t/"; exit 1; }; \
		grep '^stat::\(number_of_executed_units\|new_units_added\|peak_rss_mb\)' build/fuzz-$$t.log; \
	done

.PHONY: bench-quick
bench-quick: $(STAMP)  ## under a minute: one line per issue-13 goal, `name value goal met|missed`
	@dpkg -s libvips42 >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libvips42 >/dev/null; }
	@$(PY) scripts/bench/quick.py

BASE_URL ?= http://127.0.0.1:8001
.PHONY: smoke-test
smoke-test: $(STAMP)  ## upload, wait for ready, fetch, delete against BASE_URL (default: make run's API, behind its edge)
	$(PY) scripts/smoke-test $(BASE_URL)
