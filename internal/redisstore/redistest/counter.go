package redistest

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/flagbot/flagbot/internal/redisstore"
)

// Counter is a proxy in front of a Redis server that records the commands
// sent through it: what a Store really sends, one entry per command on the
// wire. It understands only what clients send (arrays of bulk strings), so
// it does not work in front of TLS.
type Counter struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	cmds   []string
	conns  []net.Conn
	closed bool
	wg     sync.WaitGroup
}

// NewCounter starts a Counter in front of the server of s (which must come
// from this package) and returns a Store that talks through it, as
// ReplicaVia does with opts, with the Counter. Both close when the test ends.
func NewCounter(t testing.TB, s *redisstore.Store, opts redisstore.Options) (*redisstore.Store, *Counter) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: counter: %v", err)
	}
	target := s.Addr()
	if !s.Embedded() {
		target = parseURL(t, URL(t, s)).Host
	}
	c := &Counter{ln: ln, target: target}
	c.wg.Go(c.accept)
	t.Cleanup(c.close)
	rs := ReplicaVia(t, s, ln.Addr().String(), opts)
	c.Take() // Open's PING
	return rs, c
}

// handshake reports whether name is a command a client sends to set up a
// connection.
func handshake(name string) bool {
	switch name {
	case "hello", "auth", "select", "client":
		return true
	}
	return false
}

// Take returns the lower-case names of the commands sent since the last
// Take, in order, leaving out those that set up a connection (HELLO, AUTH,
// SELECT, CLIENT).
func (c *Counter) Take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.cmds
	c.cmds = nil
	return out
}

func (c *Counter) accept() {
	for {
		client, err := c.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", c.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		c.mu.Lock()
		closed := c.closed
		c.conns = append(c.conns, client, server)
		c.mu.Unlock()
		if closed {
			_ = client.Close()
			_ = server.Close()
			return
		}
		closeBoth := func() { _ = client.Close(); _ = server.Close() }
		c.wg.Go(func() {
			defer closeBoth()
			// Each command is recorded before it goes on to the server,
			// so it is in the record by the time its reply arrives.
			r := bufio.NewReader(client)
			for {
				v, err := readReply(r)
				if err != nil {
					return
				}
				args, ok := v.([]any)
				if !ok || len(args) == 0 {
					return // not a command as clients send them
				}
				name, _ := args[0].(string)
				c.record(strings.ToLower(name))
				if err := writeCommand(server, args...); err != nil {
					return
				}
			}
		})
		c.wg.Go(func() {
			defer closeBoth()
			_, _ = io.Copy(client, server)
		})
	}
}

func (c *Counter) record(name string) {
	if handshake(name) {
		return
	}
	c.mu.Lock()
	c.cmds = append(c.cmds, name)
	c.mu.Unlock()
}

func (c *Counter) close() {
	_ = c.ln.Close()
	c.mu.Lock()
	c.closed = true
	for _, nc := range c.conns {
		_ = nc.Close()
	}
	c.mu.Unlock()
	c.wg.Wait()
}
