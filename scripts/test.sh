#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, vet, staticcheck, and
# `go test -race ./...` against a real Redis (started here if none listens
# on 127.0.0.1:6379), a three-master Redis Cluster (started here on free
# loopback ports, from 7101 up, unless FLAGBOT_TEST_REDIS_CLUSTER_URL names
# one) and with the playground's browser tests in headless Chromium
# (Debian's chromium, installed here with apt-get if missing).
# Usage: scripts/test.sh [extra go test flags]
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK_VERSION=v0.8.2   # staticcheck 2026.2.2
REDIS_PORT=6379

fail() { echo "test.sh: FAIL: $*" >&2; exit 1; }
redis_up() { # PING over bash's /dev/tcp, so redis-cli is not needed
	local port="${1:-$REDIS_PORT}"
	{ exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
	printf 'PING\r\n' >&3
	local reply=""
	read -r -t 2 reply <&3 || true
	exec 3>&- 3<&-
	[[ "$reply" == +PONG* ]]
}

echo "== gofmt"
unformatted=$(gofmt -l $(find . -name '*.go' -not -path './.git/*'))
[ -z "$unformatted" ] || fail "gofmt would change: $unformatted"

echo "== go vet"
go vet ./...

echo "== staticcheck $STATICCHECK_VERSION"
go run "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" ./...

echo "== redis"
started_redis=""
if ! redis_up; then
	command -v redis-server >/dev/null || fail "no Redis on 127.0.0.1:$REDIS_PORT and no redis-server to start (apt-get install redis-server)"
	redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
		--pidfile /tmp/flagbot-test-redis.pid --logfile /tmp/flagbot-test-redis.log
	started_redis=yes
	for _ in $(seq 50); do
		redis_up && break
		sleep 0.1
	done
	redis_up || fail "redis-server did not start (see /tmp/flagbot-test-redis.log)"
fi
cluster_dir=""
cleanup() {
	if [ -n "$started_redis" ] && [ -f /tmp/flagbot-test-redis.pid ]; then
		kill "$(cat /tmp/flagbot-test-redis.pid)" 2>/dev/null || true
	fi
	if [ -n "$cluster_dir" ]; then
		local pids=()
		for pidfile in "$cluster_dir"/*/redis.pid; do
			[ -f "$pidfile" ] && pids+=("$(cat "$pidfile")")
		done
		for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
		# A node writes its files as it stops: wait for it before removing them.
		for _ in $(seq 50); do
			alive=""
			for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=yes; done
			[ -z "$alive" ] && break
			sleep 0.1
		done
		rm -rf "$cluster_dir" || true
	fi
}
trap cleanup EXIT
export FLAGBOT_TEST_REDIS_URL="${FLAGBOT_TEST_REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}"
echo "FLAGBOT_TEST_REDIS_URL=$FLAGBOT_TEST_REDIS_URL"

echo "== redis cluster"
port_free() { ! { exec 4<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || { exec 4>&- 4<&-; return 1; }; }
if [ -z "${FLAGBOT_TEST_REDIS_CLUSTER_URL:-}" ]; then
	command -v redis-cli >/dev/null || fail "no redis-cli to create the test cluster (apt-get install redis-tools)"
	cluster_dir=$(mktemp -d /tmp/flagbot-test-cluster.XXXXXX)
	ports=()
	port=7101
	while [ "${#ports[@]}" -lt 3 ] && [ "$port" -lt 7200 ]; do
		# Each node also listens on its cluster bus port, port + 10000.
		if port_free "$port" && port_free $((port + 10000)); then
			ports+=("$port")
		fi
		port=$((port + 1))
	done
	[ "${#ports[@]}" -eq 3 ] || fail "no three free loopback ports in 7101-7199 for the test cluster"
	addrs=()
	for p in "${ports[@]}"; do
		mkdir "$cluster_dir/$p"
		redis-server --daemonize yes --bind 127.0.0.1 --port "$p" --cluster-enabled yes \
			--cluster-config-file "$cluster_dir/$p/nodes.conf" --dir "$cluster_dir/$p" \
			--save "" --appendonly no --pidfile "$cluster_dir/$p/redis.pid" --logfile "$cluster_dir/$p/redis.log"
		addrs+=("127.0.0.1:$p")
	done
	for p in "${ports[@]}"; do
		for _ in $(seq 50); do
			redis_up "$p" && break
			sleep 0.1
		done
		redis_up "$p" || fail "cluster node on port $p did not start (see $cluster_dir/$p/redis.log)"
	done
	redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >"$cluster_dir/create.log" 2>&1 ||
		fail "redis-cli --cluster create failed: $(cat "$cluster_dir/create.log")"
	for _ in $(seq 100); do
		ok=yes
		for p in "${ports[@]}"; do
			redis-cli -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || ok=""
		done
		[ -n "$ok" ] && break
		sleep 0.1
	done
	[ -n "$ok" ] || fail "the test cluster did not reach cluster_state:ok"
	FLAGBOT_TEST_REDIS_CLUSTER_URL="redis-cluster://$(IFS=,; echo "${addrs[*]}")"
fi
export FLAGBOT_TEST_REDIS_CLUSTER_URL
echo "FLAGBOT_TEST_REDIS_CLUSTER_URL=$FLAGBOT_TEST_REDIS_CLUSTER_URL"

echo "== chromium"
have_browser() { command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null; }
if ! have_browser; then
	command -v apt-get >/dev/null || fail "no chromium for the browser tests, and no apt-get to install it"
	as_root=""
	[ "$(id -u)" = 0 ] || as_root="sudo"
	echo "installing chromium with apt-get"
	$as_root apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq chromium >/dev/null
	have_browser || fail "apt-get install chromium did not give a chromium binary"
fi
# The browser tests fail instead of skipping when they cannot start one.
export FLAGBOT_TEST_BROWSER=1

echo "== go test -race"
go test -race -count=1 "$@" ./...
