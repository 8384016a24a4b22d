package redistest

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/redisstore"
)

// A small client of the Redis protocol (RESP2), so that tests can look past
// redisstore's API (a raw ZRANGE, SCRIPT FLUSH, cleaning up a prefix)
// without a second Redis client library.

// doTimeout bounds one Do.
const doTimeout = 10 * time.Second

// ReplyError is an error reply of Redis, such as "WRONGTYPE ...".
type ReplyError string

func (e ReplyError) Error() string { return string(e) }

// Do sends one command to the server of s (which must come from this
// package) on a connection of its own, on a cluster to the node that holds
// the command's key (following MOVED), and returns the reply: a simple or
// bulk string as a string, an integer as an int64, an array as []any and a
// nil reply as nil. Keys are not prefixed: pass s.Key(k). The test fails on
// any error, error replies included.
func Do(t testing.TB, s *redisstore.Store, args ...any) any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), doTimeout)
	defer cancel()
	v, err := doRouted(ctx, URL(t, s), args...)
	if err != nil {
		t.Fatalf("redistest: %s: %v", fmt.Sprint(args[0]), err)
	}
	return v
}

// conn is one connection to a Redis server.
type conn struct {
	nc net.Conn
	r  *bufio.Reader
}

// dial connects to the server of redisURL (redis:// or rediss://),
// authenticates and selects the URL's database. ctx's deadline bounds the
// connection's whole life.
func dial(ctx context.Context, redisURL string) (*conn, error) {
	u, err := url.Parse(redisURL)
	if err != nil {
		return nil, errors.New("invalid redis url") // the URL may hold a password
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "6379")
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "rediss" {
		nc = tls.Client(nc, &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12})
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	c := &conn{nc: nc, r: bufio.NewReader(nc)}
	if pw, ok := u.User.Password(); ok {
		args := []any{"AUTH", pw}
		if name := u.User.Username(); name != "" {
			args = []any{"AUTH", name, pw}
		}
		if _, err := c.do(args...); err != nil {
			c.close()
			return nil, errors.New("AUTH failed") // the error may quote the password
		}
	}
	if db := strings.Trim(u.Path, "/"); db != "" && db != "0" {
		if _, err := c.do("SELECT", db); err != nil {
			c.close()
			return nil, fmt.Errorf("SELECT %s: %w", db, err)
		}
	}
	return c, nil
}

func (c *conn) close() { _ = c.nc.Close() }

// do sends one command and reads its reply.
func (c *conn) do(args ...any) (any, error) {
	if err := writeCommand(c.nc, args...); err != nil {
		return nil, err
	}
	return readReply(c.r)
}

// writeCommand writes args as a RESP array of bulk strings.
func writeCommand(w io.Writer, args ...any) error {
	var b []byte
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, "\r\n"...)
	for _, a := range args {
		var s string
		switch v := a.(type) {
		case string:
			s = v
		case []byte:
			s = string(v)
		default:
			s = fmt.Sprint(v)
		}
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, "\r\n"...)
		b = append(b, s...)
		b = append(b, "\r\n"...)
	}
	_, err := w.Write(b)
	return err
}

// readReply reads one RESP2 value. An error reply is returned as a
// ReplyError error; the arrays of bulk strings that clients send read the
// same way, as []any of strings.
func readReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
		return nil, fmt.Errorf("malformed reply line %q", line)
	}
	kind, body := line[0], line[1:len(line)-2]
	switch kind {
	case '+':
		return body, nil
	case '-':
		return nil, ReplyError(body)
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 {
			return nil, fmt.Errorf("malformed bulk length %q", body)
		}
		if n == -1 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 {
			return nil, fmt.Errorf("malformed array length %q", body)
		}
		if n == -1 {
			return nil, nil
		}
		out := make([]any, n)
		for i := range out {
			v, err := readReply(r)
			var rerr ReplyError
			if err != nil && !errors.As(err, &rerr) {
				return nil, err
			}
			if err != nil {
				v = rerr // an error inside an array (EXEC) is a value
			}
			out[i] = v
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown reply type %q", kind)
}

// deletePrefixed deletes every key that starts with prefix, which must
// hold no glob characters, of the server at redisURL or of every master of
// the cluster it names. Keys are deleted one at a time where they live, so
// keys of many slots are no cross-slot DEL.
func deletePrefixed(ctx context.Context, redisURL, prefix string) error {
	nodes, err := masters(ctx, redisURL)
	if err != nil {
		return err
	}
	for _, node := range nodes {
		if err := deleteOn(ctx, node, prefix); err != nil {
			return err
		}
	}
	return nil
}

// scanNode returns every key of the one server at nodeURL that matches
// pattern, sorted and without duplicates.
func scanNode(ctx context.Context, nodeURL, pattern string) ([]string, error) {
	c, err := dial(ctx, nodeURL)
	if err != nil {
		return nil, err
	}
	defer c.close()
	var out []string
	cursor := "0"
	for {
		v, err := c.do("SCAN", cursor, "MATCH", pattern, "COUNT", 100)
		if err != nil {
			return nil, fmt.Errorf("SCAN: %w", err)
		}
		page, ok := v.([]any)
		if !ok || len(page) != 2 {
			return nil, fmt.Errorf("SCAN: unexpected reply %v", v)
		}
		cursor, _ = page[0].(string)
		out = append(out, strs(page[1])...)
		if cursor == "0" || cursor == "" {
			slices.Sort(out)
			return slices.Compact(out), nil
		}
	}
}

func deleteOn(ctx context.Context, nodeURL, prefix string) error {
	keys, err := scanNode(ctx, nodeURL, prefix+"*")
	if err != nil {
		return err
	}
	c, err := dial(ctx, nodeURL)
	if err != nil {
		return err
	}
	defer c.close()
	for _, k := range keys {
		if _, err := c.do("DEL", k); err != nil {
			return fmt.Errorf("DEL: %w", err)
		}
	}
	return nil
}
