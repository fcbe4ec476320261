#!/usr/bin/env bash
# The one test command (README.md, "Tests"). From nothing to a green suite:
# installs PostgreSQL and RabbitMQ from Debian packages where they are
# missing, starts them where they are stopped, waits until both accept
# connections, creates the role and database the tests use,
# installs chromium and prometheus (browser tests, promtool) where missing,
# and runs `go test -race -count=1 ./...`. Extra arguments go to `go test`.
#
# Set PACER_TEST_DATABASE_URL / PACER_TEST_AMQP_URL to use servers of your
# own; then this script neither installs nor starts those servers.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

say() { printf '== %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    say "apt-get update"
    as_root apt-get update -qq
    apt_updated=1
  fi
  say "installing $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local secs=$1 what=$2; shift 2
  for _ in $(seq 1 "$secs"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  say "$what did not come up within ${secs}s"; return 1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if [ -z "${PACER_TEST_DATABASE_URL:-}" ]; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt_install postgresql
  fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    say "starting PostgreSQL"
    for cluster in $(pg_lsclusters -h | awk '{print $1"/"$2}'); do
      as_root pg_ctlcluster --skip-systemctl-redirect "${cluster%/*}" "${cluster#*/}" start || true
    done
  fi
  wait_for 60 PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432
  # A freshly installed PostgreSQL has no role for us and wants a password
  # over TCP: make a role with one, and a database it owns.
  psql_admin() { as_root runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 "$@"; }
  psql_admin -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pacer') THEN
        CREATE ROLE pacer LOGIN PASSWORD 'pacer';
      END IF;
    END \$\$;"
  if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = 'pacer_test'")" != 1 ]; then
    psql_admin -c "CREATE DATABASE pacer_test OWNER pacer"
  fi
  export PACER_TEST_DATABASE_URL="postgres://pacer:pacer@127.0.0.1:5432/pacer_test?sslmode=disable"
fi

if [ -z "${PACER_TEST_AMQP_URL:-}" ]; then
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    apt_install rabbitmq-server
  fi
  if ! port_open 5672; then
    say "starting RabbitMQ"
    as_root rabbitmq-server -detached || true
  fi
  wait_for 120 RabbitMQ port_open 5672
  # The port opens a little before the broker takes logins.
  as_root rabbitmqctl await_startup --timeout 120 >/dev/null 2>&1 || true
  # The unacknowledged-messages metric comes from the management API
  # (port 15672), as in docker-compose.yaml.
  as_root rabbitmq-plugins enable --quiet rabbitmq_management >/dev/null
  wait_for 60 "RabbitMQ management API" port_open 15672
  export PACER_TEST_AMQP_URL="amqp://guest:guest@127.0.0.1:5672/"
fi

# The browser tests drive Debian's chromium; the metrics and rules checks
# run promtool and a real Prometheus on loopback.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
fi

say "go test -race -count=1 ./... $*"
exec go test -race -count=1 ./... "$@"
