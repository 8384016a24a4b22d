package redisstore_test

import (
	"testing"

	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
)

// BenchmarkEmbeddedScript and BenchmarkEmbeddedCommand measure one script
// call and one plain command on the embedded Redis. miniredis builds a new
// Lua state for every script call, so with the embedded Redis each of the
// approval's scripts costs the bot about 0.1 ms and 186 KB of garbage
// more than a command (issue 12; see the README's Performance section).
func BenchmarkEmbeddedScript(b *testing.B) {
	s := redistest.NewTestStore(b)
	script := redisstore.NewScript(`return redis.call('HSET', KEYS[1], 'f', ARGV[1])`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Run(b.Context(), script, []string{"bench"}, "v"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEmbeddedCommand(b *testing.B) {
	s := redistest.NewTestStore(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Set(b.Context(), "bench", []byte("v"), 0); err != nil {
			b.Fatal(err)
		}
	}
}
