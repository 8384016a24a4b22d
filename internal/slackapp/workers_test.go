package slackapp

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestWorkersNeverQueue: jobs run at once even when every worker is busy;
// a finished worker takes the next job; idle workers exit.
func TestWorkersNeverQueue(t *testing.T) {
	before := runtime.NumGoroutine()
	w := newWorkers(50 * time.Millisecond)
	release := make(chan struct{})
	var started sync.WaitGroup
	const n = 5
	started.Add(n)
	for range n {
		w.run(func() { started.Done(); <-release })
	}
	done := make(chan struct{})
	go func() { started.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("jobs waited for a busy worker")
	}
	close(release)

	// A worker that finished takes the next job: wait until one is idle,
	// then no new goroutine is needed.
	time.Sleep(10 * time.Millisecond)
	ran := make(chan struct{})
	w.run(func() { close(ran) })
	<-ran

	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, want %d: idle workers did not exit", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
