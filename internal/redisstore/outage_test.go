package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/testport"
)

const (
	outageTimeout = time.Second
	// slack is what an operation may take beyond OpTimeout when the whole
	// test process stalls (-race, two cores, other packages' tests running
	// alongside: stalls of 1.5s were seen). It is still far below what
	// go-redis's defaults would take against a silent server (3s read
	// timeout, 3 retries).
	slack = 1500 * time.Millisecond
	// recoverWithin bounds how long a Store may take to notice that Redis is
	// back; go-redis probes a dead server about once a second.
	recoverWithin = 10 * time.Second
)

// checkDown runs every operation against a stopped server and checks that
// each fails with ErrUnavailable, quickly.
func checkDown(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	ops := []struct {
		name string
		run  func() error
	}{
		{"ping", func() error { return s.Ping(ctx) }},
		{"get", func() error { _, err := s.Get(ctx, "k"); return err }},
		{"set", func() error { return s.Set(ctx, "k2", []byte("v"), time.Minute) }},
		{"del", func() error { return s.Del(ctx, "k") }},
		{"time", func() error { _, err := s.Time(ctx); return err }},
	}
	for round := range 3 { // again and again: no op may start to hang
		for _, op := range ops {
			start := time.Now()
			err := op.run()
			took := time.Since(start)
			if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotFound) {
				t.Errorf("round %d: %s while down: error = %v, want ErrUnavailable", round, op.name, err)
			}
			if took > outageTimeout+slack {
				t.Errorf("round %d: %s while down took %v, want at most about %v", round, op.name, took, outageTimeout)
			}
		}
	}
}

// waitUp polls until Get(key) returns want, failing after recoverWithin.
func waitUp(t *testing.T, s *Store, key, want string) {
	t.Helper()
	deadline := time.Now().Add(recoverWithin)
	var err error
	for time.Now().Before(deadline) {
		var got []byte
		got, err = s.Get(t.Context(), key)
		if err == nil && string(got) == want {
			return
		}
		if err == nil {
			err = fmt.Errorf("got %q, want %q", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("store did not recover within %v: last error %v", recoverWithin, err)
}

func TestUnavailableAndRecoveryMiniredis(t *testing.T) {
	t.Parallel()
	s, err := OpenEmbedded(t.Context(), testLogger(t), Options{OpTimeout: outageTimeout, Prefix: "outage"})
	if err != nil {
		t.Fatalf("OpenEmbedded: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Set(t.Context(), "k", []byte("before"), 0); err != nil {
		t.Fatalf("Set: %v", err)
	}

	s.embedded.Stop()
	checkDown(t, s)

	if err := s.embedded.Restart(); err != nil {
		t.Fatalf("restart miniredis: %v", err)
	}
	waitUp(t, s, "k", "before") // miniredis keeps its data over a restart
	if err := s.Set(t.Context(), "k", []byte("after"), 0); err != nil {
		t.Fatalf("Set after recovery: %v", err)
	}
	waitUp(t, s, "k", "after")
}

// redisServer is a redis-server process this test started and owns.
type redisServer struct {
	port int
	cmd  *exec.Cmd
}

func startRedisServer(t *testing.T, bin string, port int) *redisServer {
	t.Helper()
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	r := &redisServer{port: port, cmd: cmd}
	t.Cleanup(r.stop)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not start: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the process this test started (by its own handle) and waits
// for it. It is safe to call twice.
func (r *redisServer) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

func TestUnavailableAndRecoveryRedisServer(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(testRedisURLEnv) != "" {
			t.Fatalf("%s is set, so a real Redis is expected, but redis-server is not on PATH: %v", testRedisURLEnv, err)
		}
		t.Skip("redis-server is not on PATH and " + testRedisURLEnv + " is unset: skipping the outage test against a real server")
	}
	// The server restarts on the same port below.
	port, err := strconv.Atoi(testport.Port(t))
	if err != nil {
		t.Fatal(err)
	}

	srv := startRedisServer(t, bin, port)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, "redis://127.0.0.1:"+strconv.Itoa(port)+"/0", testLogger(t), Options{OpTimeout: outageTimeout})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Set(ctx, "k", []byte("before"), 0); err != nil {
		t.Fatalf("Set: %v", err)
	}

	srv.stop()
	checkDown(t, s)

	startRedisServer(t, bin, port) // same port; data is gone (no persistence)
	if err := s.Set(ctx, "k", []byte("after"), 0); err != nil {
		// The first command may still meet the dead pool's last dial error.
		t.Logf("first Set after restart: %v", err)
	}
	deadline := time.Now().Add(recoverWithin)
	for {
		err := s.Set(ctx, "k", []byte("after"), 0)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("store did not recover within %v: %v", recoverWithin, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitUp(t, s, "k", "after")
}
