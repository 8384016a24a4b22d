package slackapp

import "time"

// workerIdle is how long a worker waits for its next job before it exits.
const workerIdle = 10 * time.Second

// workers runs each job at once on a goroutine: one left idle by an earlier
// job when there is one, a new one otherwise. A busy bot so reuses
// goroutines whose stacks already grew to what a command needs (decoding a
// flag goes deep), instead of growing a fresh stack for every envelope.
// Nothing ever waits for a worker: there is no queue and no limit.
type workers struct {
	jobs chan func() // unbuffered: a send succeeds only if a worker waits
	idle time.Duration
}

func newWorkers(idle time.Duration) *workers {
	return &workers{jobs: make(chan func()), idle: idle}
}

// run starts f on an idle worker or a new one, without blocking.
func (w *workers) run(f func()) {
	select {
	case w.jobs <- f:
	default:
		go w.loop(f)
	}
}

// loop runs f, then the jobs handed to it, until it has been idle for
// w.idle. f must not panic (spawn recovers).
//
// Handlers hand their work over first and ack after (a deferred ack): the
// goroutine a job is handed to becomes the next to run on this processor,
// and the ack queued after takes that place, so the socket writer sends the
// ack as soon as the handler returns, before any command's work.
func (w *workers) loop(f func()) {
	t := time.NewTimer(w.idle)
	defer t.Stop()
	for {
		f()
		t.Reset(w.idle)
		select {
		case f = <-w.jobs:
		case <-t.C:
			return
		}
	}
}
