package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Defaults for Options.
const (
	// DefaultOpTimeout bounds one Redis operation. Redis answers in well
	// under a millisecond on a healthy network, so two seconds only ever
	// runs out when Redis is down, and a Slack command still has time to
	// reply with a friendly error.
	DefaultOpTimeout = 2 * time.Second
	// DefaultPrefix starts every key Flagbot writes, so Flagbot can share a
	// Redis database with other applications.
	DefaultPrefix = "flagbot"
)

// Tuning of the go-redis client. Retries are few and short so that an outage
// shows within OpTimeout; the pool keeps probing a dead server once a second
// on its own, so a Store recovers without a restart.
const (
	maxRetries         = 1
	minRetryBackoff    = 10 * time.Millisecond
	maxRetryBackoff    = 100 * time.Millisecond
	dialerRetries      = 2
	dialerRetryBackoff = 50 * time.Millisecond
)

// Options tunes a Store. The zero value means the defaults.
type Options struct {
	// OpTimeout bounds every operation, the initial PING included.
	// Zero means DefaultOpTimeout.
	OpTimeout time.Duration
	// Prefix is put before every key, followed by ':'. Empty means
	// DefaultPrefix. It may not contain '{' or '}': the first '{' of a
	// Flagbot key opens its Redis Cluster hash tag (see keys.go).
	Prefix string
}

func (o Options) withDefaults() Options {
	if o.OpTimeout <= 0 {
		o.OpTimeout = DefaultOpTimeout
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	return o
}

// Store is Flagbot's connection to Redis: a key/value API whose keys are
// prefixed with Options.Prefix and whose every operation is bounded by
// Options.OpTimeout. It is safe for concurrent use.
type Store struct {
	client      redis.UniversalClient
	addr        string
	embedded    *EmbeddedServer // nil unless embedded
	prefix      string
	opTimeout   time.Duration
	log         *slog.Logger
	cas, unlock *Script

	closeOnce sync.Once
	closeErr  error
}

// Open connects to the Redis server at redisURL, a redis:// or rediss://
// (TLS) URL such as redis://:password@host:6379/0, and checks it with a PING
// bounded by opts.OpTimeout. A URL that cannot be used returns an error
// wrapping ErrInvalidURL; a server that does not answer returns one wrapping
// ErrUnavailable that names the address. Neither ever contains the
// password. A nil log discards log output.
func Open(ctx context.Context, redisURL string, log *slog.Logger, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	if err := checkPrefix(opts.Prefix); err != nil {
		return nil, err
	}
	uo, mode, err := parseRedisURL(redisURL, opts)
	if err != nil {
		return nil, err
	}
	s, err := connect(ctx, uo, nil, log, opts)
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "connected to redis", "mode", mode.String(),
		"addrs", uo.Addrs, "master", uo.MasterName, "db", uo.DB, "tls", uo.TLSConfig != nil)
	return s, nil
}

// OpenEmbedded starts an in-process Redis (miniredis) on a free loopback port
// and connects to it. Its data lives in memory only and is lost when the
// Store is closed or the process exits. Its clock runs with the wall clock
// (see EmbeddedServer), so keys with a TTL expire as on a real Redis. Close
// stops the server too.
func OpenEmbedded(ctx context.Context, log *slog.Logger, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	if err := checkPrefix(opts.Prefix); err != nil {
		return nil, err
	}
	srv, err := startEmbedded()
	if err != nil {
		return nil, err
	}
	uo := baseOptions(opts)
	uo.Addrs = []string{srv.Addr()}
	s, err := connect(ctx, uo, srv, log, opts)
	if err != nil {
		srv.close()
		return nil, err
	}
	s.log.WarnContext(ctx, "using embedded redis: connections and approvals are lost on restart",
		"addr", srv.Addr())
	return s, nil
}

// checkPrefix refuses a key prefix that would hold a hash tag of its own.
func checkPrefix(p string) error {
	if strings.ContainsAny(p, "{}") {
		return fmt.Errorf("redisstore: key prefix %q: %w", p, ErrInvalidPrefix)
	}
	return nil
}

func connect(ctx context.Context, uo *redis.UniversalOptions, srv *EmbeddedServer, log *slog.Logger, opts Options) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		client:    redis.NewUniversalClient(uo),
		addr:      uo.Addrs[0],
		embedded:  srv,
		prefix:    opts.Prefix + ":",
		opTimeout: opts.OpTimeout,
		log:       log.With("component", "redisstore"),
		cas:       NewScript(luaCompareAndSwap),
		unlock:    NewScript(luaUnlock),
	}
	ctx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	if err := s.client.Ping(ctx).Err(); err != nil {
		_ = s.client.Close() // the ping error is the one worth returning
		return nil, fmt.Errorf("redisstore: connect to redis at %s: %w: %w",
			uo.Addrs[0], ErrUnavailable, scrubError(err, uo.Username, uo.Password))
	}
	return s, nil
}

// Per-connection buffer sizes (see baseOptions).
const (
	connBufferSize     = 8 << 10
	pipelineBufferSize = 16 << 10
)

// baseOptions returns the client options Flagbot uses for every server.
func baseOptions(opts Options) *redis.UniversalOptions {
	return &redis.UniversalOptions{
		DialTimeout:           opts.OpTimeout,
		ReadTimeout:           opts.OpTimeout,
		WriteTimeout:          opts.OpTimeout,
		PoolTimeout:           opts.OpTimeout,
		ContextTimeoutEnabled: true,
		MaxRetries:            maxRetries,
		MinRetryBackoff:       minRetryBackoff,
		MaxRetryBackoff:       maxRetryBackoff,
		DialerRetries:         dialerRetries,
		DialerRetryTimeout:    dialerRetryBackoff,
		DisableIdentity:       true, // skip CLIENT SETINFO: one round trip less per connection
		// go-redis buffers 32 KiB each way per connection (128 KiB for its
		// pipeline pool): 700 KB of a small bot's 11 MB. Flagbot's commands
		// and replies are a few KB; a larger value is read straight into
		// its own slice, past the buffer.
		ReadBufferSize:          connBufferSize,
		WriteBufferSize:         connBufferSize,
		PipelineReadBufferSize:  pipelineBufferSize,
		PipelineWriteBufferSize: pipelineBufferSize,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled, // no cluster-upgrade handoffs for one server
		},
	}
}

// urlCredentials returns the user-info strings of a URL (the whole
// user:password, the password, and their unescaped forms) without needing
// the URL to parse, longest first so scrub replaces whole strings first.
func urlCredentials(raw string) []string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return nil
	}
	rest := raw[i+3:]
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		rest = rest[:j]
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return nil
	}
	userinfo := rest[:at]
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s)
			if u, err := url.PathUnescape(s); err == nil && u != s {
				out = append(out, u)
			}
		}
	}
	add(userinfo)
	if _, pw, ok := strings.Cut(userinfo, ":"); ok {
		add(pw)
	}
	return out
}

// scrub replaces every occurrence of each secret in s.
func scrub(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "xxxxx")
		}
	}
	return s
}

// scrubError returns err unchanged unless its text contains the password
// (or the user:password pair), in which case it returns a new error with
// that text masked.
func scrubError(err error, username, password string) error {
	if password == "" {
		return err
	}
	msg := err.Error()
	clean := scrub(msg, username+":"+password, password)
	if clean == msg {
		return err
	}
	return errors.New(clean)
}

// Embedded reports whether s runs on an in-process Redis (OpenEmbedded).
func (s *Store) Embedded() bool { return s.embedded != nil }

// EmbeddedServer returns the in-process Redis of a Store made by
// OpenEmbedded, and nil for one made by Open.
func (s *Store) EmbeddedServer() *EmbeddedServer { return s.embedded }

// Addr returns the host:port of the Redis server s talks to. It never
// contains credentials.
func (s *Store) Addr() string { return s.addr }

// Key returns the full Redis key of key: key with the Store's prefix. Every
// method of Store takes keys without the prefix and adds it itself; Key is
// for the rare value that names a key, such as a sorted set of keys that a
// script later reads.
func (s *Store) Key(key string) string { return s.prefix + key }

// Close closes the connections and, for an embedded Store, stops the
// server and its clock. Calling it again returns the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.client.Close()
		if s.embedded != nil {
			s.embedded.close()
		}
	})
	return s.closeErr
}

// Ping checks that Redis answers within the operation timeout. It returns
// an error wrapping ErrUnavailable when not.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	if err := s.client.Ping(ctx).Err(); err != nil {
		return unavailable("ping", "", err)
	}
	return nil
}

// Get returns the value stored under key (given without the prefix). It
// returns an error wrapping ErrNotFound when the key does not exist and one
// wrapping ErrUnavailable when Redis fails.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	b, err := s.client.Get(ctx, s.key(key)).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, fmt.Errorf("redisstore: get %q: %w", key, ErrNotFound)
	case err != nil:
		return nil, unavailable("get", key, err)
	}
	return b, nil
}

// Set stores val under key (given without the prefix). A positive ttl makes
// the key expire after it; zero means no expiry, and a negative ttl is an
// error. It returns an error wrapping ErrUnavailable when Redis fails.
func (s *Store) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if ttl < 0 {
		return fmt.Errorf("redisstore: set %q: negative ttl %v", key, ttl)
	}
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	if err := s.client.Set(ctx, s.key(key), val, ttl).Err(); err != nil {
		return unavailable("set", key, err)
	}
	return nil
}

// Del removes key (given without the prefix). Deleting a missing key is not
// an error. It returns an error wrapping ErrUnavailable when Redis fails.
func (s *Store) Del(ctx context.Context, key string) error {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	if err := s.client.Del(ctx, s.key(key)).Err(); err != nil {
		return unavailable("del", key, err)
	}
	return nil
}

// luaCompareAndSwap sets KEYS[1] to ARGV[3] if it holds ARGV[2] (when
// ARGV[1] is "1") or does not exist (when ARGV[1] is "0"), with a PX expiry
// of ARGV[4] milliseconds when that is positive. It returns 1 when it set
// the key and 0 when not.
const luaCompareAndSwap = `
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if cur then return 0 end
elseif cur ~= ARGV[2] then
  return 0
end
local px = tonumber(ARGV[4])
if px > 0 then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', px)
else
  redis.call('SET', KEYS[1], ARGV[3])
end
return 1
`

// CompareAndSwap stores val under key (given without the prefix) only if
// key currently holds old, or, when old is nil, only if key does not exist.
// It reports whether it stored val. The check and the write are one atomic
// step. A positive ttl makes the key expire after it (rounded up to a whole
// millisecond); zero means no expiry, and a negative ttl is an error. It
// returns an error wrapping ErrUnavailable when Redis fails.
func (s *Store) CompareAndSwap(ctx context.Context, key string, old, val []byte, ttl time.Duration) (bool, error) {
	if ttl < 0 {
		return false, fmt.Errorf("redisstore: compare-and-swap %q: negative ttl %v", key, ttl)
	}
	px := int64(0)
	if ttl > 0 {
		px = int64((ttl + time.Millisecond - 1) / time.Millisecond)
	}
	mode := "1"
	if old == nil {
		mode = "0"
	}
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	n, err := s.run(ctx, s.cas, []string{s.key(key)}, mode, old, val, px).Int64()
	if err != nil {
		return false, unavailable("compare-and-swap", key, err)
	}
	return n == 1, nil
}

func (s *Store) key(k string) string { return s.prefix + k }

func (s *Store) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opTimeout)
}
