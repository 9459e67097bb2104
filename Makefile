# VPC Factory — the project's verbs. `make help` lists them.
# Every target bootstraps .venv from requirements-dev.lock on first use, so a fresh clone needs
# nothing but python3 (3.11+) and make.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SPEC   ?= examples/production.yaml
export AWS_DEFAULT_REGION ?= us-east-1

.DEFAULT_GOAL := help
.PHONY: help venv graphviz iam-simulator run test test-fast test-unit reliability lint build validate bench deploy smoke clean diagrams

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.lock pyproject.toml
	@$(MAKE) --no-print-directory graphviz
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

venv: $(STAMP) ## create .venv with the pinned dependencies

# `vpcfactory diagram` renders with Graphviz's `dot`, a system package, not a wheel. Installed with
# apt-get when missing and we may (root, Debian/Ubuntu); otherwise say how, and go on: only the
# diagram command and its tests need it.
graphviz: ## install Graphviz (dot) for `vpcfactory diagram` if missing
	@command -v dot >/dev/null 2>&1 && exit 0; \
	if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing graphviz (dot) with apt-get"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends graphviz fonts-liberation2 >/dev/null; \
	elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
	  DEBIAN_FRONTEND=noninteractive sudo apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive sudo apt-get install -y -qq --no-install-recommends graphviz fonts-liberation2 >/dev/null; \
	else \
	  echo "warning: Graphviz's dot is missing: install it (brew install graphviz / apt-get install graphviz) for vpcfactory diagram" >&2; \
	fi

# The emulator's IAM evaluation (issue 11) runs @cloud-copilot/iam-simulate, pinned by
# tools/iam_simulator/package-lock.json, in its own node process. It is AGPL-3.0: fine for this test
# tool, which is never shipped with the Lambda code. Installed with npm ci when node_modules is missing
# or older than the lock; without npm (or if npm ci fails), say how and go on: the IAM evaluator and its
# tests need it, nothing else.
IAM_SIMULATOR := tools/iam_simulator
iam-simulator: ## install the emulator's IAM policy evaluator (npm ci in tools/iam_simulator)
	@stamp=$(IAM_SIMULATOR)/node_modules/.vpcfactory-installed; \
	if [ -f $$stamp ] && [ ! $(IAM_SIMULATOR)/package-lock.json -nt $$stamp ]; then exit 0; fi; \
	if ! command -v npm >/dev/null 2>&1; then \
	  echo "warning: npm is missing: install Node.js 18+, then make iam-simulator (the emulator's IAM evaluator)" >&2; \
	  exit 0; \
	fi; \
	echo "installing the IAM simulator (npm ci --prefix $(IAM_SIMULATOR))"; \
	if npm ci --prefix $(IAM_SIMULATOR) --no-audit --no-fund --loglevel=error; then touch $$stamp; \
	else echo "warning: npm ci in $(IAM_SIMULATOR) failed: the emulator's IAM evaluator is unavailable" >&2; fi

run: $(STAMP) iam-simulator ## build examples/production.yaml on the embedded emulator (SPEC=... to change)
	$(BIN)/vpcfactory apply $(SPEC)

# The suite runs on every core (pytest-xdist: a worker process per core and one more, each with its
# own moto, emulators and IAM evaluator). The extra worker runs while others wait on a CLI they started
# or a served emulator coming up: on 2 cores, 3 workers took 310 s where 2 took 323 (2 used 1.73 of the
# 2 cores). worksteal hands each worker a contiguous share of the suite and moves tests only when a
# worker runs dry, so a module's tests mostly share one module-scoped emulator.
# WORKERS=0 runs it in this one process; WORKERS=N on N workers.
# (the cores this process may use, as xdist's own count; computed only by the targets that use it)
WORKERS ?= $(shell $(PYTHON) -c 'import os; print(len(os.sched_getaffinity(0)) + 1 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) + 1)')
PARALLEL = -n $(WORKERS) --dist worksteal

# Bytecode is written (in __pycache__, ignored by git; sam build leaves it out) even where the shell
# says not to (PYTHONDONTWRITEBYTECODE=1): the suite starts a Python process per worker and per CLI
# run or served emulator it tests, and each compiled every module of ours from source, and each
# worker rewrote every test module's assertions (pytest keeps those only as bytecode): collection
# 8.5 -> 4.5 s a worker.
PYTEST := env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest

test: $(STAMP) iam-simulator ## the whole suite, slow sweeps included (what CI runs), on every core
	$(PYTEST) $(PARALLEL)

test-fast: $(STAMP) iam-simulator ## the suite without the slow sweeps, on every core
	$(PYTEST) $(PARALLEL) -m "not slow"

# tests/unit only: pure (no AWS, no emulator server), sockets off (tests/unit/conftest.py); about half a
# minute of CPU. Without node_modules the IAM evaluator's tests skip, so no npm either.
test-unit: $(STAMP) ## pure tests only: no AWS, no emulator, sockets off (well under a minute)
	$(PYTEST) tests/unit -m "not slow" -p no:cacheprovider

reliability: $(STAMP) iam-simulator ## fault, crash, throttling, concurrency and re-run sweeps -> reliability/report.json
	$(BIN)/python -m vpcfactory_tools.reliability

lint: $(STAMP) ## ruff and mypy over the code (what tests/contract/test_lint.py runs in the suite)
	$(BIN)/ruff check functions tools tests
	$(BIN)/ruff format --check functions tools tests
	$(BIN)/mypy

# The seed post's script the benchmarks compare against; it lives outside this repository:
# make bench SEED_BASELINE=path/to/seed_baseline.py (or set VPCFACTORY_SEED_BASELINE).
SEED_BASELINE ?= $(or $(VPCFACTORY_SEED_BASELINE),../shared/seed/seed_baseline.py)

bench: $(STAMP) iam-simulator ## time to ready, cost, speed, cold start, growth vs the seed script -> bench/results.json
	$(BIN)/python -m bench.run --seed-baseline $(SEED_BASELINE)

diagrams: $(STAMP) ## redraw docs/images: the production network and both state machines (needs dot)
	$(BIN)/python -m vpcfactory_tools.diagram examples/production.yaml -o docs/images/production-network.svg
	$(BIN)/python -m vpcfactory_tools.asl_diagram statemachine/build_vpc.asl.json -o docs/images/build-state-machine.svg \
	  --title "VPC Factory: build workflow (statemachine/build_vpc.asl.json)"
	$(BIN)/python -m vpcfactory_tools.asl_diagram statemachine/destroy_vpc.asl.json -o docs/images/destroy-state-machine.svg \
	  --title "VPC Factory: destroy workflow (statemachine/destroy_vpc.asl.json)"

validate: $(STAMP) ## sam validate --lint (offline)
	$(BIN)/sam validate --lint --region $(AWS_DEFAULT_REGION)

# sam build ships sources only; the second step adds the runtime's bytecode (python3.13, found on PATH,
# in pyenv, or as VPCFACTORY_RUNTIME_PYTHON) so cold starts do not compile our modules. Without a
# python3.13 it warns and the package stays sources only (vpcfactory_tools/bytecode.py says why).
build: $(STAMP) ## sam build (python3.13, arm64; offline: no requirements.txt) + the runtime's bytecode
	$(BIN)/sam build
	$(BIN)/python -m vpcfactory_tools.bytecode .aws-sam/build

deploy: build ## sam deploy --config-env $(ENV) (needs AWS credentials)
	$(BIN)/sam deploy --config-env $(or $(ENV),dev)

smoke: $(STAMP) ## on a real account (your credentials): deploy ENV, build examples/seed.yaml, verify, destroy, delete -> smoke/report.json
	$(BIN)/python -m vpcfactory_tools.smoke --env $(or $(ENV),dev)

clean: ## remove build outputs and the venv
	rm -rf $(VENV) .aws-sam .pytest_cache
