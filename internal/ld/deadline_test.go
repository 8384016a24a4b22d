package ld_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldtest"
)

// TestWaitBeyondDeadlineFailsNow checks that the client does not sleep into
// the caller's deadline: when the wait before a retry is longer than the time
// left, the failure at hand (rate limited, LaunchDarkly unavailable) is
// returned at once, so the user reads what went wrong instead of "timed
// out" (the connect modal has only 2.5 s).
func TestWaitBeyondDeadlineFailsNow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(s *ldtest.Server)
		want  error
	}{
		{"429 with a long Retry-After", func(s *ldtest.Server) {
			s.RateLimitNext(10, 5*time.Second)
		}, ld.ErrRateLimited},
		{"5xx with backoff past the deadline", func(s *ldtest.Server) {
			s.FailNext(10, http.StatusServiceUnavailable, "service_unavailable", "down")
		}, ld.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := fakeLD(t)
			tt.setup(s)
			// The real sleep, so a wait into the deadline would show as
			// context.DeadlineExceeded.
			c, err := ld.NewClient(s.URL(), ld.Options{})
			if err != nil {
				t.Fatal(err)
			}
			c = c.WithToken(testToken)
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err = c.CallerIdentity(ctx)
			if !errors.Is(err, tt.want) || errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("CallerIdentity() error = %v, want %v and no deadline error", err, tt.want)
			}
			if d := time.Since(start); d > 150*time.Millisecond {
				t.Errorf("took %v: the client waited instead of answering", d)
			}
			if n := len(s.Requests()); n != 1 {
				t.Errorf("requests = %d, want 1 (no retry can fit before the deadline)", n)
			}
			checkNoToken(t, err)
		})
	}
}
