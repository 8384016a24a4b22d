package redisstore

import (
	"testing"
	"time"
)

// TestEmbeddedClockStopsOnClose: Close stops the clock's goroutine, and a
// second Close does no harm.
func TestEmbeddedClockStopsOnClose(t *testing.T) {
	t.Parallel()
	s, err := OpenEmbedded(t.Context(), nil, Options{})
	if err != nil {
		t.Fatalf("OpenEmbedded: %v", err)
	}
	done := s.embedded.done
	select {
	case <-done:
		t.Fatal("the clock stopped before Close")
	case <-time.After(2 * clockTick):
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-done:
	default:
		t.Fatal("the clock still runs after Close")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if s.Embedded() != true {
		t.Error("Embedded() = false for OpenEmbedded")
	}
}
