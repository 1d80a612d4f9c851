#!/usr/bin/env bash
# Starts the local servers the tests talk to, unless already running, and prints the
# environment that points the tests at them, including AURUM_STARTED_PIDS: what this call
# started. `scripts/services.sh stop` (with that variable exported) stops exactly those.
#   Redis       127.0.0.1:${AURUM_REDIS_PORT:-6379}  (installed from apt when missing)
#   moto        127.0.0.1:${AURUM_MOTO_PORT:-5055}   (DynamoDB + SQS, from PyPI, own venv)
set -euo pipefail
cd "$(dirname "$0")/.."
state="${AURUM_CACHE_DIR:-$HOME/.cache/aurum}/services"
mkdir -p "$state"
redis_port="${AURUM_REDIS_PORT:-6379}"
moto_port="${AURUM_MOTO_PORT:-5055}"
MOTO_VERSION="5.2.5"

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

redis_ping() {
  exec 3<>"/dev/tcp/127.0.0.1/$redis_port" || return 1
  printf 'PING\r\n' >&3
  local reply
  IFS= read -r -t 2 reply <&3 || return 1
  exec 3>&-
  [[ "$reply" == +PONG* ]]
}

wait_for() { # name, check command...
  local name=$1; shift
  for _ in $(seq 1 100); do
    if "$@"; then return 0; fi
    sleep 0.2
  done
  echo "$name did not come up" >&2
  return 1
}

moto_up() { python3 - "$moto_port" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/", timeout=2)
PY
}

start() {
  local started=""
  if ! redis_ping 2>/dev/null; then
    if ! command -v redis-server >/dev/null; then
      echo "installing redis-server from apt" >&2
      sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
      ($sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server) >&2
    fi
    redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
      --pidfile "$state/redis-$redis_port.pid" --logfile "$state/redis.log" >&2
    wait_for redis redis_ping
    started="$started $(cat "$state/redis-$redis_port.pid")"
  fi
  if ! moto_up; then
    bin=$(scripts/venv.sh moto "moto[server]==$MOTO_VERSION")
    # One request at a time: DynamoDB runs each transaction and conditional write in
    # isolation, and the race tests rely on that. moto's threaded server does not (its
    # TransactWriteItems checks and applies without a lock), so it is run unthreaded.
    nohup "$bin/python" -c '
import sys, moto.server as server
run = server.run_simple
server.run_simple = lambda *a, **k: run(*a, **{**k, "threaded": False})
server.main(sys.argv[1:])
' -H 127.0.0.1 -p "$moto_port" >"$state/moto.log" 2>&1 </dev/null &
    started="$started $!"
    wait_for moto moto_up
  fi
  echo "export AURUM_TEST_MOTO_URL=http://127.0.0.1:$moto_port"
  echo "export AURUM_TEST_REDIS_URL=redis://127.0.0.1:$redis_port"
  echo "export AURUM_STARTED_PIDS='${started# }'"
}

stop() {
  for pid in ${AURUM_STARTED_PIDS:-}; do
    kill "$pid" 2>/dev/null || true
  done
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac
