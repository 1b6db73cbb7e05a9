#!/usr/bin/env bash
# Installs what the project needs into .venv, idempotently.
#   scripts/bootstrap.sh        what running needs (`make run`): the packages, Kafka's jars, openssl
#   scripts/bootstrap.sh test   and what testing and linting need (`make test`, `make lint`...):
#                               the test tools, Chromium, kcat, docker-compose and Helm
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-run}
case "$MODE" in run|test) ;; *) echo "usage: scripts/bootstrap.sh [run|test]" >&2; exit 2 ;; esac
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
fi
export VIRTUAL_ENV="$PWD/.venv"
packages=(-e libs/contracts -e libs/runtime -e deploy/localstack
  -e services/intake -e services/validator -e services/board-gateway -e services/notifier
  -e tools/cli)
if [ "$MODE" = test ]; then
  packages+=(-e tools/asyncapi -r requirements-dev.txt)  # the AsyncAPI generator: a developer's tool
fi
.venv/bin/uv pip install --quiet -c constraints.txt "${packages[@]}"

# Apache Kafka's broker jars, fetched with Maven into a cache outside git (first run only).
.venv/bin/python -m pars_stack fetch

# Debian packages. Running needs openssl (the local Kafka's TLS listener: its CA and certificate);
# the tests also use docker-compose (to check docker-compose.yml without an engine), chromium (the
# pages are tested in a real headless browser, driven by Playwright) and kcat (tests/security's
# hostile publisher: a Kafka client not ours).
need=()
command -v openssl >/dev/null || need+=(openssl)
if [ "$MODE" = test ]; then
  command -v docker-compose >/dev/null || need+=(docker-compose)
  command -v chromium >/dev/null || need+=(chromium)
  command -v kcat >/dev/null || need+=(kcat)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing ${need[*]} with apt-get" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/dev/null
  else
    echo "bootstrap: please install ${need[*]} (apt-get install ${need[*]})" >&2
  fi
fi
[ "$MODE" = test ] || exit 0

# Helm, built from source at a pinned version into a cache outside git (like Kafka's jars: once per
# machine, not once per clone), then linked into .venv/bin (tests/deploy lint and render the chart
# in deploy/helm with it). `go version -m` reads the module version the binary was built from;
# `helm version` would only say "v3.22" for a source build.
HELM_VERSION=v3.22.0
HELM_CACHE="${PARS_CACHE_DIR:-$HOME/.cache/pars}/helm-$HELM_VERSION"
built() { { go version -m "$1" 2>/dev/null || true; } | grep -Eq "^[[:space:]]*mod[[:space:]]+helm\.sh/helm/v3[[:space:]]+$HELM_VERSION[[:space:]]"; }
if ! command -v go >/dev/null; then
  if [ ! -x .venv/bin/helm ]; then
    echo "bootstrap: Go is missing: install Go 1.26 or newer to build Helm $HELM_VERSION" >&2
  fi
elif ! built .venv/bin/helm; then
  if ! built "$HELM_CACHE/helm"; then
    echo "bootstrap: building Helm $HELM_VERSION into $HELM_CACHE (a few minutes the first time)" >&2
    mkdir -p "$HELM_CACHE"
    GOBIN="$HELM_CACHE" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  fi
  ln -sf "$HELM_CACHE/helm" .venv/bin/helm
fi
