# The two commands a newcomer needs: `make up` and `make test`. Everything runs in .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: up down status monitor test lint protos seed venv clean bench bench-quick chaos

$(STAMP): requirements/base.txt requirements/dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	touch $(STAMP)

venv: $(STAMP)

# `make up MONITORING=1` also starts Prometheus (as `make monitor` does) once the stack is ready.
MONITORING ?=

up: $(STAMP)  ## provision Postgres + Kafka, migrate, seed, start every service, print the URLs
	MONITORING=$(MONITORING) $(PY) manage_all.py up

monitor: $(STAMP)  ## Prometheus on 127.0.0.1:9090 scraping the running stack (make up first)
	$(PY) manage_all.py monitor

down:  ## stop everything `make up` (and `make monitor`) started
	$(PY) manage_all.py down

status:
	$(PY) manage_all.py status

test: $(STAMP)  ## lint + every test suite on real Postgres and Kafka
	$(PY) manage_all.py test

lint: $(STAMP)
	$(PY) -c "import sys; from ops.testing import lint; sys.exit(0 if lint() else 1)"

protos: $(STAMP)  ## regenerate the gRPC code from protos/
	$(PY) -m ops.protos

seed: $(STAMP)
	$(PY) manage_all.py seed

clean: down
	rm -rf var

bench: $(STAMP)  ## benchmarks (never part of make test): event latency, relay throughput, reservations, then the whole stack
	$(PY) bench/bench_events.py
	$(PY) bench/bench_reservations.py
	$(PY) bench/bench_stack.py $(ARGS)

bench-quick: $(STAMP)  ## the whole-stack benchmark only, short (under 2 minutes): `make bench ARGS=--quick` also shortens it
	$(PY) bench/bench_stack.py --quick

# `make chaos ORDERS=150` for a shorter run. Its own stack over a private Postgres and Kafka (free loopback ports).
ORDERS ?= 600

chaos: $(STAMP)  ## orders under SIGKILLs, a Kafka outage and a Postgres restart, then check_consistency (not in make test)
	$(PY) bench/chaos.py --orders $(ORDERS)
