package redisstore

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// The forms of REDIS_URL (see the README's Configuration section):
//
//	redis://[user:password@]host[:6379][/db]        one server
//	rediss://...                                     the same over TLS
//	redis-cluster://[user:password@]h1:p1,h2:p2,...  Redis Cluster: seed nodes
//	rediss-cluster://...                             the same over TLS
//	redis-sentinel://[user:password@]s1:p1,s2:p2/master[/db]
//	                                                 a Sentinel-managed primary
//	rediss-sentinel://...                            the same over TLS
//
// Ports default to 6379 (26379 for sentinels). Credentials apply to the
// data nodes, and to the sentinels too (Redis 6.2+ sentinels accept the
// same ACL user). With TLS the first host name is the certificate name
// checked on every node. A cluster has no databases: a /db path is
// refused.

// redisMode is the topology a REDIS_URL names.
type redisMode int

const (
	modeSingle redisMode = iota
	modeCluster
	modeSentinel
)

func (m redisMode) String() string {
	switch m {
	case modeCluster:
		return "cluster"
	case modeSentinel:
		return "sentinel"
	}
	return "single"
}

// CheckURL reports whether redisURL is a REDIS_URL that Open can use, in
// any of the forms above, without connecting: nil, or an error wrapping
// ErrInvalidURL that never contains the URL's credentials. A redis:// or
// rediss:// URL must name a host.
func CheckURL(redisURL string) error {
	if _, _, err := parseRedisURL(redisURL, Options{}); err != nil {
		return err
	}
	if scheme, rest, _ := strings.Cut(redisURL, "://"); scheme == "redis" || scheme == "rediss" {
		if u, err := url.Parse(redisURL); err != nil || u.Host == "" || strings.HasPrefix(rest, "/") {
			return fmt.Errorf("redisstore: %w: no host", ErrInvalidURL)
		}
	}
	return nil
}

// universalOptions turns REDIS_URL into client options. Errors wrap
// ErrInvalidURL and never contain the URL's credentials.
func universalOptions(redisURL string, opts Options) (*redis.UniversalOptions, error) {
	uo, _, err := parseRedisURL(redisURL, opts)
	return uo, err
}

func parseRedisURL(redisURL string, opts Options) (*redis.UniversalOptions, redisMode, error) {
	creds := urlCredentials(redisURL)
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("redisstore: %w: %s", ErrInvalidURL, scrub(fmt.Sprintf(format, args...), creds...))
	}
	scheme, rest, ok := strings.Cut(redisURL, "://")
	if !ok {
		return nil, 0, invalid("want redis://, rediss://, redis-cluster:// or redis-sentinel:// (see the README)")
	}
	switch scheme {
	case "redis", "rediss":
		uo, err := singleOptions(redisURL, opts, creds)
		return uo, modeSingle, err
	case "redis-cluster", "rediss-cluster", "redis-sentinel", "rediss-sentinel":
	default:
		return nil, 0, invalid("scheme must be redis, rediss, redis-cluster, rediss-cluster, redis-sentinel or rediss-sentinel, not %q", scheme)
	}
	mode, defaultPort := modeCluster, "6379"
	if strings.HasSuffix(scheme, "-sentinel") {
		mode, defaultPort = modeSentinel, "26379"
	}
	if strings.ContainsAny(rest, "?#") {
		return nil, 0, invalid("%s URLs take no query or fragment", scheme)
	}
	hostsPart, path, _ := strings.Cut(rest, "/")
	uo := baseOptions(opts)
	if at := strings.LastIndex(hostsPart, "@"); at >= 0 {
		ui, err := url.Parse("redis://" + hostsPart[:at+1] + "x")
		if err != nil || ui.User == nil {
			return nil, 0, invalid("bad user information")
		}
		uo.Username = ui.User.Username()
		uo.Password, _ = ui.User.Password()
		hostsPart = hostsPart[at+1:]
	}
	for h := range strings.SplitSeq(hostsPart, ",") {
		addr, err := hostPort(h, defaultPort)
		if err != nil {
			return nil, 0, invalid("address %q: %v", h, err)
		}
		uo.Addrs = append(uo.Addrs, addr)
	}
	segs := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
	switch mode {
	case modeCluster:
		if len(segs) > 0 {
			return nil, 0, invalid("a Redis Cluster has no databases: drop the /%s", path)
		}
		uo.IsClusterMode = true
	case modeSentinel:
		if len(segs) == 0 || len(segs) > 2 {
			return nil, 0, invalid("want redis-sentinel://sentinels/<master name>[/<db>]")
		}
		name, err := url.PathUnescape(segs[0])
		if err != nil || name == "" {
			return nil, 0, invalid("bad master name")
		}
		uo.MasterName = name
		if len(segs) == 2 {
			db, err := strconv.Atoi(segs[1])
			if err != nil || db < 0 {
				return nil, 0, invalid("bad database number %q", segs[1])
			}
			uo.DB = db
		}
		uo.SentinelUsername, uo.SentinelPassword = uo.Username, uo.Password
	}
	if strings.HasPrefix(scheme, "rediss") {
		host, _, _ := net.SplitHostPort(uo.Addrs[0])
		uo.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	return uo, mode, nil
}

// hostPort validates host[:port] and adds the default port.
func hostPort(h, defaultPort string) (string, error) {
	if h == "" {
		return "", errors.New("empty")
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			host, port = strings.Trim(h, "[]"), defaultPort
		} else {
			return "", errors.New("want host or host:port")
		}
	}
	if host == "" || strings.ContainsAny(host, " /@\x7f") || strings.ContainsFunc(host, func(r rune) bool { return r < ' ' }) {
		return "", errors.New("bad host")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", errors.New("bad port")
	}
	return net.JoinHostPort(host, port), nil
}

// singleOptions handles redis:// and rediss://, one server.
func singleOptions(redisURL string, opts Options, creds []string) (*redis.UniversalOptions, error) {
	u, err := url.Parse(redisURL)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // url.Error's text repeats the whole URL
		}
		return nil, fmt.Errorf("redisstore: %w: %s", ErrInvalidURL, scrub(err.Error(), creds...))
	}
	ro, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, fmt.Errorf("redisstore: %w: %s", ErrInvalidURL, scrub(err.Error(), creds...))
	}
	uo := baseOptions(opts)
	uo.Addrs = []string{ro.Addr}
	uo.Username = ro.Username
	uo.Password = ro.Password
	uo.DB = ro.DB
	uo.TLSConfig = ro.TLSConfig
	uo.ClientName = ro.ClientName
	return uo, nil
}
