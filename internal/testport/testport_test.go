package testport

import (
	"net"
	"strconv"
	"testing"
)

func TestFreeIsBelowTheEphemeralRange(t *testing.T) {
	top := ephemeralStart()
	seen := map[string]bool{}
	for range 50 {
		addr := Free(t)
		host, p, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		port, err := strconv.Atoi(p)
		if err != nil {
			t.Fatal(err)
		}
		if host != "127.0.0.1" || port < lowest || port >= top {
			t.Fatalf("Free = %s, want 127.0.0.1 and a port in [%d, %d)", addr, lowest, top)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("Free gave %s, which can't be bound: %v", addr, err)
		}
		_ = ln.Close()
		seen[addr] = true
	}
	if len(seen) < 40 {
		t.Errorf("50 calls gave only %d ports: not spread over the range", len(seen))
	}
}

func TestPickSkipsATakenPort(t *testing.T) {
	// Two neighbouring free ports; hold the first.
	var ln net.Listener
	var port int
	for ln == nil {
		_, p, _ := net.SplitHostPort(Free(t))
		port, _ = strconv.Atoi(p)
		next, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1)))
		if err != nil {
			continue
		}
		_ = next.Close()
		if ln, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err != nil {
			ln = nil
		}
	}
	t.Cleanup(func() { _ = ln.Close() })

	if addr, ok := pick(port, port+1, 20); ok {
		t.Fatalf("pick over the one held port = %s, want none", addr)
	}
	other := net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1))
	for range 20 {
		if addr, ok := pick(port, port+2, 50); !ok || addr != other {
			t.Fatalf("pick over [held, free] = %q, %v, want %s", addr, ok, other)
		}
	}
}

func TestEphemeralStart(t *testing.T) {
	if n := ephemeralStart(); n <= lowest {
		t.Fatalf("ephemeralStart = %d, want above %d", n, lowest)
	}
}
