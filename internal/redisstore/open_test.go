package redisstore

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

const testPassword = "hunter2-s3cr3t"

// closedAddr returns a loopback address on which nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("close listener: %v", err)
	}
	return addr
}

// silentAddr returns a loopback address that accepts connections and never
// answers, like a Redis that hangs.
func silentAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				for _, c := range conns {
					_ = c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		<-done
	})
	return l.Addr().String()
}

func TestOpenInvalidURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  string
	}{
		{name: "empty", url: ""},
		{name: "http scheme", url: "http://:" + testPassword + "@127.0.0.1:6379"},
		{name: "unix scheme", url: "unix://:" + testPassword + "@/tmp/redis.sock"},
		{name: "bad port", url: "redis://user:" + testPassword + "@127.0.0.1:notaport/0"},
		{name: "bad db", url: "redis://:" + testPassword + "@127.0.0.1:6379/abc"},
		{name: "bad path", url: "redis://:" + testPassword + "@127.0.0.1:6379/0/1"},
		{name: "control character", url: "redis://:" + testPassword + "@127.0.0.1\x7f:6379"},
		{name: "unknown option", url: "redis://:" + testPassword + "@127.0.0.1:6379/0?frobnicate=1"},
		{name: "escaped password", url: "redis://:" + strings.ReplaceAll(testPassword, "-", "%2D") + "@[::1:6379/0"},
		{name: "cluster with a db", url: "redis-cluster://:" + testPassword + "@h1:7000,h2:7001/1"},
		{name: "cluster bad port", url: "redis-cluster://:" + testPassword + "@h1:7000,h2:seventy"},
		{name: "cluster empty host", url: "redis-cluster://:" + testPassword + "@h1:7000,,h3"},
		{name: "cluster query", url: "rediss-cluster://:" + testPassword + "@h1:7000?password=x"},
		{name: "sentinel without master", url: "redis-sentinel://:" + testPassword + "@s1:26379,s2"},
		{name: "sentinel bad db", url: "redis-sentinel://:" + testPassword + "@s1/mymaster/x"},
		{name: "sentinel too deep", url: "redis-sentinel://:" + testPassword + "@s1/mymaster/0/1"},
		{name: "no scheme", url: "h1:6379"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := Open(t.Context(), tt.url, nil, Options{OpTimeout: 500 * time.Millisecond})
			if err == nil {
				_ = s.Close()
				t.Fatalf("Open(%s) succeeded, want an error", tt.name)
			}
			if !errors.Is(err, ErrInvalidURL) || errors.Is(err, ErrUnavailable) {
				t.Errorf("Open error = %v, want ErrInvalidURL", err)
			}
			if msg := fmt.Sprintf("%v %+v", err, err); strings.Contains(msg, testPassword) || strings.Contains(msg, "%2D") {
				t.Errorf("error reveals the password: %s", msg)
			}
		})
	}
}

func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		addr string
	}{
		{name: "refused", addr: closedAddr(t)},
		{name: "silent", addr: silentAddr(t)},
	}
	const timeout = time.Second
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			s, err := Open(t.Context(), "redis://flagbot:"+testPassword+"@"+tt.addr+"/0", nil, Options{OpTimeout: timeout})
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if took := time.Since(start); took > timeout+slack {
				t.Errorf("Open took %v, want about OpTimeout (%v)", took, timeout)
			}
			if !errors.Is(err, ErrUnavailable) {
				t.Errorf("Open error = %v, want ErrUnavailable", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.addr) {
				t.Errorf("error %q does not name %s", msg, tt.addr)
			}
			if strings.Contains(msg, testPassword) {
				t.Errorf("error reveals the password: %s", msg)
			}
		})
	}
}

func TestOpenAuth(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	m.RequireAuth(testPassword)

	s, err := Open(t.Context(), "redis://:wrong-"+testPassword+"@"+m.Addr()+"/0", nil, Options{OpTimeout: time.Second})
	if err == nil {
		_ = s.Close()
		t.Fatal("Open with a wrong password succeeded")
	}
	if !errors.Is(err, ErrUnavailable) || strings.Contains(err.Error(), testPassword) {
		t.Errorf("wrong password error = %q, want ErrUnavailable without the password", err)
	}

	s, err = Open(t.Context(), "redis://:"+testPassword+"@"+m.Addr()+"/0", nil, Options{OpTimeout: time.Second})
	if err != nil {
		t.Fatalf("Open with the right password: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if s.Embedded() {
		t.Error("Embedded() = true for Open")
	}
	if err := s.Set(t.Context(), "k", []byte("v"), 0); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if got, err := m.Get("flagbot:k"); err != nil || got != "v" {
		t.Errorf("server has flagbot:k = %q, %v; want \"v\"", got, err)
	}
}

// TestRedisURLForms: every documented REDIS_URL form becomes the client
// options of its topology.
func TestRedisURLForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url          string
		mode               redisMode
		addrs              []string
		user, pass, master string
		db                 int
		tlsName            string // "" for no TLS
	}{
		{name: "single", url: "redis://:pw@h:6379/2", mode: modeSingle, addrs: []string{"h:6379"}, pass: "pw", db: 2},
		{name: "single tls", url: "rediss://bot:pw@cache.example:6380/0", mode: modeSingle, addrs: []string{"cache.example:6380"}, user: "bot", pass: "pw", tlsName: "cache.example"},
		{name: "cluster", url: "redis-cluster://:pw@10.0.0.1:7000,10.0.0.2:7001,10.0.0.3", mode: modeCluster,
			addrs: []string{"10.0.0.1:7000", "10.0.0.2:7001", "10.0.0.3:6379"}, pass: "pw"},
		{name: "cluster one seed", url: "redis-cluster://cfg.cache.example:6379", mode: modeCluster, addrs: []string{"cfg.cache.example:6379"}},
		{name: "cluster tls", url: "rediss-cluster://bot:p%40ss@n1.example:6380,n2.example:6380/", mode: modeCluster,
			addrs: []string{"n1.example:6380", "n2.example:6380"}, user: "bot", pass: "p@ss", tlsName: "n1.example"},
		{name: "sentinel", url: "redis-sentinel://:pw@s1:26379,s2,[::1]:26380/mymaster/3", mode: modeSentinel,
			addrs: []string{"s1:26379", "s2:26379", "[::1]:26380"}, pass: "pw", master: "mymaster", db: 3},
		{name: "sentinel tls", url: "rediss-sentinel://s1.example/prod-primary", mode: modeSentinel,
			addrs: []string{"s1.example:26379"}, master: "prod-primary", tlsName: "s1.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			uo, mode, err := parseRedisURL(tt.url, Options{}.withDefaults())
			if err != nil {
				t.Fatalf("parseRedisURL: %v", err)
			}
			if mode != tt.mode || strings.Join(uo.Addrs, " ") != strings.Join(tt.addrs, " ") || uo.Username != tt.user ||
				uo.Password != tt.pass || uo.MasterName != tt.master || uo.DB != tt.db {
				t.Errorf("got %v %v user %q pass %q master %q db %d; want %v %v %q %q %q %d",
					mode, uo.Addrs, uo.Username, uo.Password, uo.MasterName, uo.DB, tt.mode, tt.addrs, tt.user, tt.pass, tt.master, tt.db)
			}
			switch {
			case tt.tlsName == "" && uo.TLSConfig != nil:
				t.Errorf("TLS on, want off")
			case tt.tlsName != "" && (uo.TLSConfig == nil || uo.TLSConfig.ServerName != tt.tlsName || uo.TLSConfig.MinVersion < tls.VersionTLS12):
				t.Errorf("TLS config %+v, want server name %s, TLS 1.2 or newer", uo.TLSConfig, tt.tlsName)
			}
			if (mode == modeCluster) != uo.IsClusterMode {
				t.Errorf("IsClusterMode = %v for %v", uo.IsClusterMode, mode)
			}
			if mode == modeSentinel && (uo.SentinelUsername != tt.user || uo.SentinelPassword != tt.pass) {
				t.Errorf("sentinel credentials %q/%q, want the URL's", uo.SentinelUsername, uo.SentinelPassword)
			}
			if uo.DialTimeout != DefaultOpTimeout || !uo.ContextTimeoutEnabled {
				t.Errorf("timeouts not applied")
			}
		})
	}
}

func TestUniversalOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		url              string
		addr, user, pass string
		db               int
		tls              bool
	}{
		{name: "plain", url: "redis://127.0.0.1:6379", addr: "127.0.0.1:6379"},
		{name: "default port", url: "redis://redis.internal/2", addr: "redis.internal:6379", db: 2},
		{name: "password only", url: "redis://:pw@h:1/3", addr: "h:1", pass: "pw", db: 3},
		{name: "acl user", url: "redis://bot:pw@h:1", addr: "h:1", user: "bot", pass: "pw"},
		{name: "tls", url: "rediss://:pw@cache.example:6380/1", addr: "cache.example:6380", pass: "pw", db: 1, tls: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			uo, err := universalOptions(tt.url, Options{}.withDefaults())
			if err != nil {
				t.Fatalf("universalOptions: %v", err)
			}
			if len(uo.Addrs) != 1 || uo.Addrs[0] != tt.addr || uo.Username != tt.user || uo.Password != tt.pass || uo.DB != tt.db {
				t.Errorf("got addrs %v user %q pass %q db %d; want %s %q %q %d",
					uo.Addrs, uo.Username, uo.Password, uo.DB, tt.addr, tt.user, tt.pass, tt.db)
			}
			if (uo.TLSConfig != nil) != tt.tls {
				t.Errorf("TLS = %v, want %v", uo.TLSConfig != nil, tt.tls)
			}
			if uo.DialTimeout != DefaultOpTimeout || uo.ReadTimeout != DefaultOpTimeout || !uo.ContextTimeoutEnabled {
				t.Errorf("timeouts not applied: dial %v read %v ctx %v", uo.DialTimeout, uo.ReadTimeout, uo.ContextTimeoutEnabled)
			}
		})
	}
}

func TestDefaultOptions(t *testing.T) {
	t.Parallel()
	s, err := OpenEmbedded(t.Context(), nil, Options{})
	if err != nil {
		t.Fatalf("OpenEmbedded: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if s.prefix != "flagbot:" || s.opTimeout != 2*time.Second {
		t.Errorf("defaults = prefix %q, timeout %v; want \"flagbot:\", 2s", s.prefix, s.opTimeout)
	}
	if !s.Embedded() {
		t.Error("Embedded() = false for OpenEmbedded")
	}
	if err := s.Set(t.Context(), "k", []byte("v"), 0); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if !s.embedded.m.Exists("flagbot:k") {
		t.Errorf("keys = %v, want flagbot:k", s.embedded.m.Keys())
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Ping(t.Context()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ping after Close error = %v, want ErrUnavailable", err)
	}
}
