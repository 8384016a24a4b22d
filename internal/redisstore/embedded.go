package redisstore

import (
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// clockTick is how often the embedded server's clock moves: a key with a
// TTL outlives it by at most this much.
const clockTick = 100 * time.Millisecond

// EmbeddedServer is the in-process Redis (miniredis) behind a Store made by
// OpenEmbedded.
//
// miniredis lets no time pass by itself: a key's TTL only shrinks when it
// is told how much time went by. So that TTLs work as on a real Redis (an
// expired key is deleted and its memory freed, a lock taken with PX is
// released by its expiry), the server runs a clock that moves it forward
// with the wall clock every 100 ms. Every key is charged the whole tick, so
// a key may expire up to one tick early (set just before a tick) or late
// (due just after one); Flagbot's TTLs are seconds to days, and its leases
// compare times, not key TTLs.
// The clock stops when the Store is closed. TIME and EXPIREAT follow the
// wall clock anyway.
//
// Its methods are meant for tests: Stop and Restart simulate an outage, and
// FastForward lets TTLs run out without waiting.
type EmbeddedServer struct {
	m    *miniredis.Miniredis
	addr string
	stop chan struct{} // closed by close: stops the clock
	done chan struct{} // closed when the clock stopped
}

// startEmbedded starts a miniredis on a free loopback port and its clock.
func startEmbedded() (*EmbeddedServer, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("redisstore: start embedded redis: %w", err)
	}
	e := &EmbeddedServer{m: m, addr: m.Addr(), stop: make(chan struct{}), done: make(chan struct{})}
	go e.runClock(clockTick)
	return e, nil
}

// runClock moves the server's time forward by the wall-clock (monotonic)
// time that passed, every tick, until close.
func (e *EmbeddedServer) runClock(tick time.Duration) {
	defer close(e.done)
	t := time.NewTicker(tick)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			now := time.Now()
			e.m.FastForward(now.Sub(last))
			last = now
		}
	}
}

// close stops the clock, then the server. The Store calls it once.
func (e *EmbeddedServer) close() {
	close(e.stop)
	<-e.done
	e.m.Close()
}

// Addr returns the server's host:port.
func (e *EmbeddedServer) Addr() string { return e.addr }

// Stop stops the server as if Redis went down: connections are refused
// until Restart. The data is kept.
func (e *EmbeddedServer) Stop() { e.m.Close() }

// Restart starts a stopped server again on the same address, with the data
// it had.
func (e *EmbeddedServer) Restart() error {
	if err := e.m.Restart(); err != nil {
		return fmt.Errorf("redisstore: restart embedded redis: %w", err)
	}
	return nil
}

// FastForward lets d pass at once for every TTL, on top of the running
// clock.
func (e *EmbeddedServer) FastForward(d time.Duration) { e.m.FastForward(d) }
