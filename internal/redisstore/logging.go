package redisstore

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// RouteDriverLogs sends go-redis's own log lines (such as "failed to dial"
// while Redis is down) to log at Warn level under component "redis", instead
// of the driver's default of printing to stderr. go-redis keeps a single
// process-wide logger, so this changes process state: call it once, from
// cmd/bot's run, before opening a Store. No code in this package calls it.
func RouteDriverLogs(log *slog.Logger) {
	redis.SetLogger(driverLogger{log: log.With("component", "redis")})
}

type driverLogger struct{ log *slog.Logger }

func (d driverLogger) Printf(ctx context.Context, format string, v ...any) {
	d.log.WarnContext(ctx, fmt.Sprintf(format, v...))
}
