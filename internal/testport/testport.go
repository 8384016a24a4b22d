// Package testport gives tests a loopback port to start a server on later.
//
// It has its own home because the obvious way, listening on port 0 and
// closing the listener, races: the kernel hands the same port out again
// as the local end of any outgoing connection (the ephemeral range), and
// with many test packages dialing in parallel one of them sometimes takes
// it before the server binds. CI saw exactly that ("bind: address already
// in use" for the bot's install listener). Ports chosen here lie below the
// ephemeral range, where no outgoing connection is ever given a port.
package testport

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// lowest is the lowest port Free hands out: above the well-known and
// registered ports our tests also start (Redis 6379, the cluster's 7101–7106).
const lowest = 20000

// Free returns "127.0.0.1:port" for a port that nothing listens on now and
// that no outgoing connection can take before the caller binds it.
func Free(t testing.TB) string {
	t.Helper()
	top := ephemeralStart()
	addr, ok := pick(lowest, top, 200)
	if !ok {
		t.Fatalf("testport: no free port in %d–%d after 200 tries", lowest, top-1)
	}
	return addr
}

// pick tries up to tries random ports in [lo, hi) and returns the first
// one it can listen on.
func pick(lo, hi, tries int) (string, bool) {
	for range tries {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(lo+rand.IntN(hi-lo)))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue // taken by another test's server; try another
		}
		_ = ln.Close()
		return addr, true
	}
	return "", false
}

// Port is Free's port alone.
func Port(t testing.TB) string {
	t.Helper()
	_, port, _ := net.SplitHostPort(Free(t))
	return port
}

// ephemeralStart is the first port of the kernel's ephemeral range (Linux's
// default where /proc can't be read, as on other systems: IANA's range
// starts higher, at 49152).
func ephemeralStart() int {
	const linuxDefault = 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return linuxDefault
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return linuxDefault
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil || n <= lowest+1000 {
		return linuxDefault
	}
	return n
}
