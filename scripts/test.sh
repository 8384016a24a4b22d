#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, vet, staticcheck, and
# `go test -race ./...` against a real Redis (started here if none listens
# on 127.0.0.1:6379) and with the playground's browser tests in headless
# Chromium (Debian's chromium, installed here with apt-get if missing).
# Usage: scripts/test.sh [extra go test flags]
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK_VERSION=v0.8.2   # staticcheck 2026.2.2
REDIS_PORT=6379

fail() { echo "test.sh: FAIL: $*" >&2; exit 1; }
redis_up() { # PING over bash's /dev/tcp, so redis-cli is not needed
	{ exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT"; } 2>/dev/null || return 1
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
cleanup() {
	if [ -n "$started_redis" ] && [ -f /tmp/flagbot-test-redis.pid ]; then
		kill "$(cat /tmp/flagbot-test-redis.pid)" 2>/dev/null || true
	fi
}
trap cleanup EXIT
export FLAGBOT_TEST_REDIS_URL="${FLAGBOT_TEST_REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}"
echo "FLAGBOT_TEST_REDIS_URL=$FLAGBOT_TEST_REDIS_URL"

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
