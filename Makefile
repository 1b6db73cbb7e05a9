# The entry points. Each installs what it needs first (scripts/bootstrap.sh, idempotent).
.PHONY: install run test test-unit lint bench chaos compose-config clean

PY := .venv/bin/python
PYTEST := .venv/bin/pytest

install:
	@scripts/bootstrap.sh

# REPLICAS=2 KAFKA_BROKERS=3: two instances of every service on a three-broker Kafka cluster.
run: install
	@PARS_REPLICAS=$(or $(REPLICAS),$(PARS_REPLICAS),1) PARS_KAFKA_BROKERS=$(or $(KAFKA_BROKERS),$(PARS_KAFKA_BROKERS),1) $(PY) -m pars_stack.run

test: install
	@$(PYTEST) -q -p no:cacheprovider --durations=20 tests

test-unit: install
	@$(PYTEST) -q tests/unit

lint: install
	@.venv/bin/ruff check libs services deploy tools tests
	@.venv/bin/mypy --no-incremental libs/contracts/src libs/runtime/src services/*/src deploy/localstack/src tools/cli/src tools/asyncapi/src

# PROFILE=1 also samples each service with py-spy during the stream run (artifacts/profiles).
bench: install
	@PARS_BENCH_PROFILE=$(PROFILE) $(PY) -m tests.bench.pipeline

CHAOS_RECORDS ?= 10000

chaos: install
	@PARS_CHAOS_FULL=1 $(PYTEST) -q -p no:cacheprovider tests/fault
	@$(PY) -m tests.chaos.harness $(CHAOS_RECORDS)
	@$(PY) -m tests.chaos.harness $(CHAOS_RECORDS) --cluster

compose-config:
	@ADMIN_TOKEN=$${ADMIN_TOKEN:-check-only-token-0123456789} POSTGRES_PASSWORD=$${POSTGRES_PASSWORD:-check-only} \
	  GRAFANA_ADMIN_PASSWORD=$${GRAFANA_ADMIN_PASSWORD:-check-only} \
	  docker-compose -f docker-compose.yml config -q && echo "docker-compose.yml is valid"

clean:
	rm -rf .stack .pytest_cache
