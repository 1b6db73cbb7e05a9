# The entry points. Each installs what it needs first (scripts/bootstrap.sh, idempotent).
.PHONY: install install-test run test test-slow test-unit lint bench chaos compose-config clean

PY := .venv/bin/python
PYTEST := .venv/bin/pytest

# `make run` installs what running needs; the test, lint, bench and chaos targets add their tools.
install:
	@scripts/bootstrap.sh run

install-test:
	@scripts/bootstrap.sh test

# REPLICAS=2 KAFKA_BROKERS=3: two instances of every service on a three-broker Kafka cluster.
run: install
	@PARS_REPLICAS=$(or $(REPLICAS),$(PARS_REPLICAS),1) PARS_KAFKA_BROKERS=$(or $(KAFKA_BROKERS),$(PARS_KAFKA_BROKERS),1) $(PY) -m pars_stack.run

# The suite without the long runs, on TEST_WORKERS workers (each with a stack of its own; the tests
# that share a system stay on one: tests/conftest.py), then the long runs (chaos, the Kafka
# cluster, the short bench): .ci/run runs both. Each prints its 20 slowest tests (docs/testing.md).
TEST_WORKERS ?= 2

test: install-test
	@$(PYTEST) -q -p no:cacheprovider --durations=20 -n $(TEST_WORKERS) --dist loadgroup -m "not slow" tests

# On two workers too: its three groups (the cluster's, the chaos package's, the short bench) are
# CPU-bound; on three, the bench took 164 s instead of 71 and test-slow 4 min 31 s, not 3 min 50.
test-slow: install-test
	@$(PYTEST) -q -p no:cacheprovider --durations=20 -n $(TEST_WORKERS) --dist loadgroup -m slow tests

test-unit: install-test
	@$(PYTEST) -q tests/unit

lint: install-test
	@.venv/bin/ruff check libs services deploy tools tests
	@.venv/bin/mypy --no-incremental libs/contracts/src libs/runtime/src services/*/src deploy/localstack/src tools/cli/src tools/asyncapi/src

# PROFILE=1 also samples each service with py-spy during the stream run (artifacts/profiles).
bench: install-test
	@PARS_BENCH_PROFILE=$(PROFILE) $(PY) -m tests.bench.pipeline

CHAOS_RECORDS ?= 10000

chaos: install-test
	@PARS_CHAOS_FULL=1 $(PYTEST) -q -p no:cacheprovider tests/fault
	@$(PY) -m tests.chaos.harness $(CHAOS_RECORDS)
	@$(PY) -m tests.chaos.harness $(CHAOS_RECORDS) --cluster
	@$(PY) -m tests.chaos.harness $(CHAOS_RECORDS) --network

compose-config:
	@ADMIN_TOKEN=$${ADMIN_TOKEN:-check-only-token-0123456789} SERVICE_TOKEN=$${SERVICE_TOKEN:-check-only-service-0123456789} POSTGRES_PASSWORD=$${POSTGRES_PASSWORD:-check-only} \
	  KAFKA_PASSWORD_INTAKE=$${KAFKA_PASSWORD_INTAKE:-check-only} KAFKA_PASSWORD_VALIDATOR=$${KAFKA_PASSWORD_VALIDATOR:-check-only} \
	  KAFKA_PASSWORD_BOARD_GATEWAY=$${KAFKA_PASSWORD_BOARD_GATEWAY:-check-only} KAFKA_PASSWORD_NOTIFIER=$${KAFKA_PASSWORD_NOTIFIER:-check-only} \
	  KAFKA_PASSWORD_CREDENTIAL_ADMIN=$${KAFKA_PASSWORD_CREDENTIAL_ADMIN:-check-only} \
	  POSTGRES_PASSWORD_INTAKE=$${POSTGRES_PASSWORD_INTAKE:-check-only} POSTGRES_PASSWORD_VALIDATOR=$${POSTGRES_PASSWORD_VALIDATOR:-check-only} \
	  POSTGRES_PASSWORD_BOARD_GATEWAY=$${POSTGRES_PASSWORD_BOARD_GATEWAY:-check-only} POSTGRES_PASSWORD_NOTIFIER=$${POSTGRES_PASSWORD_NOTIFIER:-check-only} \
	  GRAFANA_ADMIN_PASSWORD=$${GRAFANA_ADMIN_PASSWORD:-check-only} \
	  docker-compose -f docker-compose.yml config -q && echo "docker-compose.yml is valid"

clean:
	rm -rf .stack .pytest_cache
