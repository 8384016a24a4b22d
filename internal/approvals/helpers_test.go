package approvals

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
)

const (
	outageTimeout = time.Second
	// slack is what an operation may take beyond OpTimeout when the whole
	// test process stalls (-race, two cores, other packages' tests running
	// alongside: stalls of 1.5s were seen).
	slack = 1500 * time.Millisecond
	// recoverWithin bounds how long a Store may take to notice that Redis is
	// back; go-redis probes a dead server about once a second.
	recoverWithin = 10 * time.Second
)

// stalled reports whether err is a Redis operation that timed out: on a
// stalled test machine (-race, two cores, other packages alongside) the
// tight sweep loops of the exactly-once tests see these now and then. The
// next sweep retries, and those tests judge what was applied, not each
// sweep.
func stalled(err error) bool {
	var ne net.Error
	return errors.Is(err, redisstore.ErrUnavailable) && errors.As(err, &ne) && ne.Timeout()
}

// backend is a way to get a Store, with a way to let time pass for TTLs
// (without waiting, on the embedded server).
type backend struct {
	name    string
	open    func(testing.TB) *redisstore.Store
	advance func(t *testing.T, s *redisstore.Store, d time.Duration)
}

// backends are miniredis, the real Redis of FLAGBOT_TEST_REDIS_URL and the
// Redis Cluster of FLAGBOT_TEST_REDIS_CLUSTER_URL (redistest.Backends).
func backends() []backend {
	var out []backend
	for _, b := range redistest.Backends() {
		out = append(out, backend{name: b.Name, open: b.Open, advance: func(t *testing.T, s *redisstore.Store, d time.Duration) {
			t.Helper()
			b.Advance(t, s, d)
		}})
	}
	return out
}

// forEachBackend runs f against every backend as a parallel subtest.
func forEachBackend(t *testing.T, f func(t *testing.T, b backend, s *redisstore.Store)) {
	t.Helper()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b, b.open(t))
		})
	}
}

// do sends one raw command to s's server; keys are given without the
// prefix by passing them through s.Key.
func do(t *testing.T, s *redisstore.Store, args ...any) any {
	t.Helper()
	return redistest.Do(t, s, args...)
}

// members returns a raw array reply as strings.
func members(t *testing.T, v any) []string {
	t.Helper()
	a, ok := v.([]any)
	if !ok {
		t.Fatalf("reply %v is not an array", v)
	}
	out := make([]string, len(a))
	for i, e := range a {
		out[i], _ = e.(string)
	}
	return out
}

func TestStalled(t *testing.T) {
	timeout := &net.OpError{Op: "write", Net: "tcp", Err: os.ErrDeadlineExceeded}
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"a Redis write that timed out", fmt.Errorf("redisstore: zrange %q: %w: %w", "k", redisstore.ErrUnavailable, timeout), true},
		{"a refused connection", fmt.Errorf("redisstore: zrange: %w: %w", redisstore.ErrUnavailable, syscall.ECONNREFUSED), false},
		{"an error reply", fmt.Errorf("redisstore: eval: %w: %w", redisstore.ErrUnavailable, redisstore.ErrReply), false},
		{"a timeout outside Redis", timeout, false},
	} {
		if got := stalled(tt.err); got != tt.want {
			t.Errorf("%s: stalled = %t, want %t", tt.name, got, tt.want)
		}
	}
}
