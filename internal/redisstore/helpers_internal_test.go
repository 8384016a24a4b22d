package redisstore

import (
	"log/slog"
	"testing"
)

// The internal tests cannot use redistest (it imports this package), so
// they keep the two things they need of it here.

// testRedisURLEnv is redistest.TestRedisURLEnv.
const testRedisURLEnv = "FLAGBOT_TEST_REDIS_URL"

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))
}
