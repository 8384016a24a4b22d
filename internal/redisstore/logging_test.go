package redisstore

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestDriverLogger(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	d := driverLogger{log: slog.New(slog.NewTextHandler(&buf, nil)).With("component", "redis")}
	d.Printf(context.Background(), "failed to dial after %d attempts: %v", 2, "refused")
	got := buf.String()
	for _, want := range []string{"level=WARN", "component=redis", `msg="failed to dial after 2 attempts: refused"`} {
		if !strings.Contains(got, want) {
			t.Errorf("log line %q lacks %q", got, want)
		}
	}
}
