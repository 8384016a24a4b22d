package redistest

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/redisstore"
)

// Counter is a proxy in front of a Redis server that records the commands
// sent through it: what a Store really sends, one entry per command on the
// wire. It can also hold each command for a while (SetDelay): a slow Redis.
// It understands only what clients send (arrays of bulk strings), so it
// does not work in front of TLS.
type Counter struct {
	ln     net.Listener
	target string
	url    string // REDIS_URL through the Counter

	mu     sync.Mutex
	cmds   []string
	conns  []net.Conn
	closed bool
	delay  time.Duration
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
	u := parseURL(t, URL(t, s))
	target := u.Host // the embedded server's address, or the real one's
	u.Host = ln.Addr().String()
	c := &Counter{ln: ln, target: target, url: u.String()}
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

// URL returns a REDIS_URL that reaches the server through the Counter, for
// a bot process to use.
func (c *Counter) URL() string { return c.url }

// SetDelay makes the Counter hold every command but a connection's set-up
// for d before passing it on, from the next command on: a slow Redis. Zero
// passes them on at once again.
func (c *Counter) SetDelay(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.delay = d
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
				if d := c.record(strings.ToLower(name)); d > 0 {
					time.Sleep(d)
				}
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

// record records command name and returns how long to hold it.
func (c *Counter) record(name string) time.Duration {
	if handshake(name) {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cmds = append(c.cmds, name)
	return c.delay
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
