package redisstore_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
)

func TestRunReplies(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, _ backend, s *redisstore.Store) {
		ctx := t.Context()
		tests := []struct {
			name string
			src  string
			want any
		}{
			{name: "string", src: `return 'a'`, want: "a"},
			{name: "status", src: `return redis.status_reply('OK')`, want: "OK"},
			{name: "number", src: `return 42`, want: int64(42)},
			{name: "nil", src: `return nil`, want: nil},
			{name: "false", src: `return false`, want: nil},
			{name: "table", src: `return {'a', 1, {'b'}}`, want: []any{"a", int64(1), []any{"b"}}},
			{name: "nil in a table", src: `return {'a', false, 'c'}`, want: []any{"a", nil, "c"}},
			{name: "empty table", src: `return {}`, want: []any{}},
			{name: "arguments", src: `return {KEYS[1], ARGV[1], ARGV[2], ARGV[3]}`,
				want: []any{s.Key("k"), "x", "7", "bin\x00"}},
		}
		for _, tt := range tests {
			got, err := s.Run(ctx, redisstore.NewScript(tt.src), []string{"k"}, "x", 7, []byte("bin\x00"))
			if err != nil {
				t.Errorf("%s: Run: %v", tt.name, err)
				continue
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s: Run = %#v, want %#v", tt.name, got, tt.want)
			}
		}

		// Keys are prefixed: a script's write lands where Get reads.
		set := redisstore.NewScript(`return redis.call('SET', KEYS[1], ARGV[1])`)
		if _, err := s.Run(ctx, set, []string{"written"}, "by script"); err != nil {
			t.Fatalf("Run SET: %v", err)
		}
		if got, err := s.Get(ctx, "written"); err != nil || string(got) != "by script" {
			t.Errorf("Get after a script's SET = %q, %v", got, err)
		}
	})
}

func TestRunErrorReply(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, _ backend, s *redisstore.Store) {
		for _, src := range []string{
			`return redis.error_reply('NOPE no way')`,
			`return redis.call('NOSUCHCOMMAND')`,
		} {
			_, err := s.Run(t.Context(), redisstore.NewScript(src), nil)
			if !errors.Is(err, redisstore.ErrReply) || !errors.Is(err, redisstore.ErrUnavailable) {
				t.Errorf("Run(%s) error = %v, want ErrReply and ErrUnavailable", src, err)
			}
		}
	})
}

func TestRunUnavailable(t *testing.T) {
	t.Parallel()
	s, err := redisstore.OpenEmbedded(t.Context(), nil, redisstore.Options{OpTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("OpenEmbedded: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	s.EmbeddedServer().Stop()
	_, err = s.Run(t.Context(), redisstore.NewScript(`return 1`), []string{"k"})
	if !errors.Is(err, redisstore.ErrUnavailable) || errors.Is(err, redisstore.ErrReply) {
		t.Errorf("Run with Redis down error = %v, want ErrUnavailable without ErrReply", err)
	}
}

// TestRunRoundTrips: a script Redis knows costs one EVALSHA; after the
// script cache was flushed (a Redis restart), one EVALSHA answered NOSCRIPT
// and one EVAL, then EVALSHA again.
func TestRunRoundTrips(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend, s *redisstore.Store) {
		if b.name == "cluster" {
			t.Skip("the command counter is a proxy in front of one server")
		}
		cs, counter := redistest.NewCounter(t, s, redisstore.Options{})
		// Unique per run: a shared Redis may know a script from earlier runs.
		script := redisstore.NewScript(fmt.Sprintf("-- %s %d\nreturn ARGV[1]", t.Name(), time.Now().UnixNano()))
		run := func(want []string) {
			t.Helper()
			if got, err := cs.Run(t.Context(), script, nil, "hello"); err != nil || got != "hello" {
				t.Fatalf("Run = %v, %v", got, err)
			}
			if got := counter.Take(); !slices.Equal(got, want) {
				t.Errorf("Run sent %q, want %q", got, want)
			}
		}
		run([]string{"evalsha", "eval"}) // a fresh server does not know it yet
		run([]string{"evalsha"})
		redistest.Do(t, s, "SCRIPT", "FLUSH")
		run([]string{"evalsha", "eval"})
		run([]string{"evalsha"})
	})
}
