package redisstore

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/testport"
)

// startRedisProcess runs redis-server with args until the test ends and
// waits until port accepts connections.
func startRedisProcess(t *testing.T, port string, args ...string) {
	t.Helper()
	cmd := exec.Command("redis-server", args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("redis-server %v:\n%s", args, out.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server %v did not listen on %s", args, port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSentinel opens a redis-sentinel:// URL against a real primary
// watched by a real Sentinel (redis-server --sentinel), with a password on
// both, and uses it. It runs where the real-Redis tests run.
func TestSentinel(t *testing.T) {
	t.Parallel()
	if os.Getenv("FLAGBOT_TEST_REDIS_URL") == "" {
		t.Skip("FLAGBOT_TEST_REDIS_URL is not set: skipping the test that starts a Sentinel (scripts/test.sh sets it)")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("FLAGBOT_TEST_REDIS_URL is set but redis-server is not on PATH: %v", err)
	}
	primary, sentinel := testport.Port(t), testport.Port(t)
	startRedisProcess(t, primary, "--bind", "127.0.0.1", "--port", primary, "--save", "", "--requirepass", testPassword)
	conf := filepath.Join(t.TempDir(), "sentinel.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil,
		"bind 127.0.0.1\nport %s\nrequirepass %s\nsentinel monitor flagbot-primary 127.0.0.1 %s 1\nsentinel auth-pass flagbot-primary %s\n",
		sentinel, testPassword, primary, testPassword), 0o600); err != nil {
		t.Fatal(err)
	}
	startRedisProcess(t, sentinel, conf, "--sentinel")

	s, err := Open(t.Context(), "redis-sentinel://:"+testPassword+"@127.0.0.1:"+sentinel+"/flagbot-primary/2", nil, Options{Prefix: "sentineltest"})
	if err != nil {
		t.Fatalf("Open through the Sentinel: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Set(t.Context(), "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(t.Context(), "k"); err != nil || string(got) != "v" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	// It landed on the primary the Sentinel names, in database 2.
	direct, err := Open(t.Context(), "redis://:"+testPassword+"@127.0.0.1:"+primary+"/2", nil, Options{Prefix: "sentineltest"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = direct.Close() })
	if got, err := direct.Get(t.Context(), "k"); err != nil || string(got) != "v" {
		t.Errorf("the primary has %q, %v; want v", got, err)
	}
	if _, err := Open(t.Context(), "redis-sentinel://:"+testPassword+"@127.0.0.1:"+sentinel+"/no-such-primary", nil, Options{}); err == nil {
		t.Error("Open of a primary the Sentinel does not know succeeded")
	} else if strings.Contains(err.Error(), testPassword) {
		t.Errorf("error reveals the password: %v", err)
	}
}
