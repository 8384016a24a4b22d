package redistest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/flagbot/flagbot/internal/redisstore"
)

// TestClusterURLEnv names the environment variable that points tests at a
// real Redis Cluster, e.g.
// redis-cluster://127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103
// (scripts/test.sh starts one and sets it).
const TestClusterURLEnv = "FLAGBOT_TEST_REDIS_CLUSTER_URL"

// NewClusterTestStore returns a Store on the real Redis Cluster named by
// FLAGBOT_TEST_REDIS_CLUSTER_URL, with a random key prefix of its own. When
// the test ends it deletes every key under that prefix, on every master,
// and closes the Store. The test is skipped when the variable is unset and
// fails when it is set but the cluster cannot be used.
func NewClusterTestStore(t testing.TB) *redisstore.Store {
	t.Helper()
	clusterURL := ClusterURL(t)
	s, err := redisstore.Open(t.Context(), clusterURL, Logger(t), redisstore.Options{Prefix: randomPrefix(t)})
	if err != nil {
		t.Fatalf("%s is set but the Redis Cluster is unusable: %v", TestClusterURLEnv, err)
	}
	if !s.Cluster() {
		t.Fatalf("%s does not name a cluster (want redis-cluster://...)", TestClusterURLEnv)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if err := deletePrefixed(ctx, clusterURL, s.Key("")); err != nil {
			t.Errorf("redistest: delete test keys: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("redistest: close test store: %v", err)
		}
	})
	return s
}

// ClusterURL returns FLAGBOT_TEST_REDIS_CLUSTER_URL, skipping the test when
// it is unset.
func ClusterURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(TestClusterURLEnv)
	if u == "" {
		t.Skipf("%s is not set: set it (e.g. redis-cluster://127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103) to run this test against a Redis Cluster", TestClusterURLEnv)
	}
	return u
}

// isCluster reports whether u is a redis-cluster:// or rediss-cluster://
// URL.
func isCluster(u string) bool {
	return strings.HasPrefix(u, "redis-cluster://") || strings.HasPrefix(u, "rediss-cluster://")
}

// nodeURLs returns, for a cluster URL, a redis:// (or rediss://) URL of
// each seed node with the cluster URL's credentials; for any other URL, the
// URL itself.
func nodeURLs(u string) ([]string, error) {
	if !isCluster(u) {
		return []string{u}, nil
	}
	scheme, rest, _ := strings.Cut(u, "://")
	scheme = strings.TrimSuffix(scheme, "-cluster")
	hosts, _, _ := strings.Cut(rest, "/")
	userinfo := ""
	if at := strings.LastIndex(hosts, "@"); at >= 0 {
		userinfo, hosts = hosts[:at+1], hosts[at+1:]
	}
	var out []string
	for h := range strings.SplitSeq(hosts, ",") {
		if h == "" {
			return nil, errors.New("empty address in cluster url")
		}
		out = append(out, scheme+"://"+userinfo+h)
	}
	return out, nil
}

// withHost returns redisURL (redis:// or rediss://) pointed at addr.
func withHost(redisURL, addr string) string {
	scheme, rest, _ := strings.Cut(redisURL, "://")
	hosts, path, _ := strings.Cut(rest, "/")
	userinfo := ""
	if at := strings.LastIndex(hosts, "@"); at >= 0 {
		userinfo = hosts[:at+1]
	}
	if path != "" {
		path = "/" + path
	}
	return scheme + "://" + userinfo + addr + path
}

// masters returns a redis:// URL of each master of the cluster, or of the
// one server, that u names.
func masters(ctx context.Context, u string) ([]string, error) {
	seeds, err := nodeURLs(u)
	if err != nil {
		return nil, err
	}
	if !isCluster(u) {
		return seeds, nil
	}
	c, err := dial(ctx, seeds[0])
	if err != nil {
		return nil, err
	}
	defer c.close()
	v, err := c.do("CLUSTER", "NODES")
	if err != nil {
		return nil, fmt.Errorf("CLUSTER NODES: %w", err)
	}
	text, _ := v.(string)
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || !strings.Contains(f[2], "master") || strings.Contains(f[2], "fail") {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		out = append(out, withHost(seeds[0], addr))
	}
	if len(out) == 0 {
		return nil, errors.New("CLUSTER NODES lists no master")
	}
	return out, nil
}

// doRouted sends one command to the server of u; for a cluster, to the
// seed node first and then, on a MOVED or ASK reply, to the node named.
func doRouted(ctx context.Context, u string, args ...any) (any, error) {
	seeds, err := nodeURLs(u)
	if err != nil {
		return nil, err
	}
	target, asking := seeds[0], false
	for range 5 {
		c, err := dial(ctx, target)
		if err != nil {
			return nil, err
		}
		if asking {
			if _, err := c.do("ASKING"); err != nil {
				c.close()
				return nil, err
			}
		}
		v, err := c.do(args...)
		c.close()
		var rerr ReplyError
		if !isCluster(u) || !errors.As(err, &rerr) {
			return v, err
		}
		f := strings.Fields(string(rerr))
		if len(f) != 3 || (f[0] != "MOVED" && f[0] != "ASK") {
			return v, err
		}
		target, asking = withHost(seeds[0], f[2]), f[0] == "ASK"
	}
	return nil, errors.New("too many cluster redirections")
}

// NodeOf returns the address of the node that holds key (given with the
// prefix, as s.Key makes it): on a cluster, the master that serves the
// key's slot, found by asking a seed node (which answers MOVED for a key
// it does not serve); otherwise the one server's address. Tests use it to
// show that workspaces really live on different masters.
func NodeOf(t testing.TB, s *redisstore.Store, key string) string {
	t.Helper()
	if !s.Cluster() {
		return s.Addr()
	}
	ctx, cancel := context.WithTimeout(context.Background(), doTimeout)
	defer cancel()
	seeds, err := nodeURLs(ClusterURL(t))
	if err != nil {
		t.Fatalf("redistest: node of %q: %v", key, err)
	}
	c, err := dial(ctx, seeds[0])
	if err != nil {
		t.Fatalf("redistest: node of %q: %v", key, err)
	}
	defer c.close()
	_, err = c.do("EXISTS", key)
	var rerr ReplyError
	switch {
	case err == nil:
		_, hosts, _ := strings.Cut(seeds[0], "://")
		return hosts[strings.LastIndex(hosts, "@")+1:]
	case errors.As(err, &rerr):
		if f := strings.Fields(string(rerr)); len(f) == 3 && f[0] == "MOVED" {
			return f[2]
		}
	}
	t.Fatalf("redistest: node of %q: %v", key, err)
	return ""
}

// DeleteAll deletes every key under prefix (without its ':'; no glob
// characters) of the server or cluster that redisURL names, on every
// master, now and again when the test ends: for a test that runs the bot
// itself (which writes under its own fixed prefix) against a shared test
// Redis. It fails the test when Redis cannot be reached.
func DeleteAll(t testing.TB, redisURL, prefix string) {
	t.Helper()
	del := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		return deletePrefixed(ctx, redisURL, prefix+":")
	}
	if err := del(); err != nil {
		t.Fatalf("redistest: delete %s keys: %v", prefix, err)
	}
	t.Cleanup(func() {
		if err := del(); err != nil {
			t.Errorf("redistest: delete %s keys: %v", prefix, err)
		}
	})
}
