# Sourced by the test scripts: services on loopback ports chosen at run time, stopped by PID
# when the script exits. Needs $workdir (a temporary directory the caller removes).

pids=()
stop_services() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() { # host port what
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$3 did not start on $1:$2" >&2
  cat "$workdir"/*.log >&2 || true
  return 1
}

# Starts redis-server (installing it with apt-get if missing); sets redis_port.
start_redis() {
  if ! command -v redis-server >/dev/null; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$workdir" --daemonize no >"$workdir/redis.log" 2>&1 &
  pids+=($!)
  wait_port 127.0.0.1 "$redis_port" redis-server
}

# (Re)starts target/debug/ratelimit-server on Redis; sets rls_port. A fresh service per run:
# its keys carry a per-process prefix, so every run counts from zero, and its frozen clock
# keeps a burst inside one window.
start_rls() {
  if [ -n "${rls_pid:-}" ]; then kill "$rls_pid" 2>/dev/null || true; wait "$rls_pid" 2>/dev/null || true; fi
  rls_port=$(free_port)
  target/debug/ratelimit-server --listen "127.0.0.1:$rls_port" \
    --redis "redis://127.0.0.1:$redis_port" --freeze-clock >"$workdir/rls.log" 2>&1 &
  rls_pid=$!
  pids+=("$rls_pid")
  wait_port 127.0.0.1 "$rls_port" ratelimit-server
}
