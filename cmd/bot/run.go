package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/flagbot/flagbot/internal/approvals"
	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/digest"
	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/metrics"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/secret"
	"github.com/flagbot/flagbot/internal/slackapp"
	"github.com/flagbot/flagbot/internal/tokenstore"
	"github.com/flagbot/flagbot/internal/uninstall"
)

const (
	opsShutdownTimeout = 5 * time.Second
	readyTimeout       = time.Second
	// sweepLockTTL keeps one replica's sweep exclusive while it resumes
	// stuck changes (each bounded by slackapp's resume timeout).
	sweepLockTTL = 5 * time.Minute
)

// run wires Flagbot together and serves until ctx ends or SIGINT/SIGTERM;
// `flagbot playground` runs the playground instead.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 1 {
		switch args[1] {
		case "playground":
			return runPlayground(ctx, args, getenv, stdout, stderr)
		case "healthcheck":
			return runHealthcheck(ctx, getenv, stdout)
		}
	}
	return runBot(ctx, args, getenv, stdout, stderr, botHooks{})
}

// wired is called by runBot once the bot is built, before it connects to
// Slack; the playground uses it to connect its demo workspace through the
// bot's own executor and token store. An error stops the bot.
type wired func(ctx context.Context, exec *commands.Executor) error

// botHooks are what the playground and the end-to-end tests change about
// runBot; the zero value is production's.
type botHooks struct {
	// wired, if set, runs once the bot is built (see wired).
	wired wired
	// now is the clock of the executor, the sweeper and the digests
	// (default time.Now): tests move it hours on to reach reminders,
	// deadlines and scheduled times without waiting.
	now func() time.Time
}

// runBot is the bot itself: production and the playground both run it.
func runBot(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, hooks botHooks) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal during the drain ends the process at once
	}()

	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s [-version]\n       %s playground [-addr host:port]   (try Flagbot in a browser, no Slack or LaunchDarkly needed)\n\n", args[0], args[0])
		tw := tabwriter.NewWriter(stderr, 0, 4, 2, ' ', 0)
		writeUsage(tw)
		_ = tw.Flush()
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *showVersion {
		fmt.Fprintf(stdout, "flagbot %s (%s)\n", version, commit)
		return nil
	}

	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	log.Info("starting flagbot", "version", version, "commit", commit)
	// go-redis prints its own lines ("failed to dial" while Redis is down)
	// to stderr in its own format unless told otherwise.
	redisstore.RouteDriverLogs(log)

	// Listen first: a taken port is a configuration problem, found before
	// Redis is opened and background work starts.
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("FLAGBOT_HTTP_ADDR %s: %w", cfg.HTTPAddr, err)
	}
	defer ln.Close() // srv.Shutdown closes it too; this covers the early returns
	var installLn net.Listener
	if cfg.MultiWorkspace() {
		if installLn, err = net.Listen("tcp", cfg.InstallAddr); err != nil {
			return fmt.Errorf("FLAGBOT_INSTALL_ADDR %s: %w", cfg.InstallAddr, err)
		}
		defer installLn.Close()
	}

	store, key, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	ring, err := newKeyring(key, cfg.OldEncryptionKeys, log)
	if err != nil {
		return err
	}
	// tokenStore holds the encrypted LaunchDarkly connections and Slack
	// installations; tokens caches both in memory, invalidated across
	// replicas. Everything reads and writes them through tokens, so that
	// every change is announced.
	tokenStore := tokenstore.New(store, ring, func(err error) bool { return errors.Is(err, redisstore.ErrNotFound) }, tokenstore.Options{Logger: log})
	tokens := tokenstore.NewCache(tokenStore, store, tokenstore.CacheOptions{MaxAge: cfg.ConnectionCacheTTL, Logger: log})
	defer background(ctx, log, "connection cache", tokens.Run)()

	m := metrics.New()
	ldClient, err := ld.NewClient(cfg.LDBaseURL, ld.Options{UserAgent: "flagbot/" + version, Logger: log,
		Observe: func(ctx context.Context, status int) {
			ws, _ := commands.WorkspaceFrom(ctx)
			m.LaunchDarkly(ws.TeamID, status)
		}})
	if err != nil {
		return fmt.Errorf("LD_BASE_URL: %w", err)
	}
	clients := func(token secret.Secret) commands.LaunchDarkly { return ld.NewService(ldClient.WithToken(token)) }

	now := hooks.now
	if now == nil {
		now = time.Now
	}
	slackOpts := slackapp.Options{APIURL: cfg.SlackAPIURL, CommandTimeout: cfg.CommandTimeout, DrainTimeout: cfg.ShutdownTimeout, Metrics: m}
	// Single-workspace mode: one bot token for everything. Multi-workspace
	// mode: each envelope's installation, stored by the install listener.
	var installs slackapp.Installations = slackapp.SingleWorkspace(cfg.SlackBotToken)
	var installer *slackapp.Installer
	if cfg.MultiWorkspace() {
		installs = tokens
		installer, err = slackapp.NewInstaller(slackapp.InstallConfig{ClientID: cfg.SlackClientID, ClientSecret: cfg.SlackClientSecret, PublicURL: cfg.PublicURL},
			tokens, store, log, slackOpts)
		if err != nil {
			return err
		}
		slackOpts.InstallURL = installer.InstallURL()
		if store.Embedded() {
			log.Warn("NOT DURABLE: multi-workspace mode with the embedded Redis forgets every installation when the bot stops; " +
				"each workspace must then install Flagbot again. Set REDIS_URL for production.")
		}
	}
	slackClients := slackapp.NewClients(installs, slackOpts)
	changes := approvals.NewChanges(store, approvals.ChangesOptions{})
	policies := approvals.NewPolicies(store)
	// Changes made before the workspace joined an Enterprise Grid org stay
	// findable for deciding them and for digests' "via Flagbot" labels.
	grid := approvals.NewGridChanges(changes)
	digestOpts := digest.Options{Logger: log, BaseURL: cfg.LDBaseURL, Unsigned: changes.Overdue}
	if hooks.now != nil {
		// Tests' clock, not Redis's: a digest's window and which kills are
		// overdue follow the hours the test moved on.
		digestOpts.Now, digestOpts.Clock = now, func(context.Context) (time.Time, error) { return now(), nil }
	}
	// Digests label a change "via Flagbot" only when the change store holds it.
	digestStore := digest.NewRedisStore(store, log)
	if err := upgradeLayout(ctx, store, changes, digestStore, log); err != nil {
		return err
	}
	digests := digest.New(digestStore, tokens, clients, slackapp.NewDigestSlack(slackClients, slackOpts), grid, digestOpts)
	dir := slackapp.NewDirectory(slackClients, cfg.Admins)
	exec := commands.NewExecutor(tokens, clients, dir, grid, policies, digests,
		commands.Options{BaseURL: cfg.LDBaseURL, ApprovalTTL: cfg.ApprovalTTL, Now: now, SignoffTTL: cfg.SignoffTTL, ScheduleGrace: cfg.ScheduleGrace})
	// The cache forgets a connection and an installation on every replica
	// at once.
	forget := uninstall.New(tokens, store, tokens, policies, changes, digestStore, uninstall.Options{Logger: log})
	app, err := slackapp.New(cfg.SlackAppToken, slackClients, exec, dir, forget, log, slackOpts)
	if err != nil {
		return err
	}
	if hooks.wired != nil {
		if err := hooks.wired(ctx, exec); err != nil {
			return err
		}
	}
	sweeper := approvals.NewSweeper(store, changes, log, approvals.SweeperOptions{
		Interval:    cfg.SweepInterval,
		LockTTL:     sweepLockTTL,
		Now:         now,
		OnExpired:   app.ChangesExpired,
		OnStuck:     app.ResumeStuck,
		OnScheduled: app.ApplyDue,
		OnRemind:    app.RemindApprovers,
		OnSignoff:   app.SignoffDue,
		OnSweep:     func(r approvals.SweepReport) { m.Swept(r.Swept, r.At, r.Stuck, r.Err) },
	})
	m.Pending(func(ctx context.Context) ([]int64, error) {
		return changes.PendingByAge(ctx, now(), cfg.ApprovalTTL, metrics.PendingBounds)
	}, readyTimeout, log)
	defer background(ctx, log, "expiry sweeper", sweeper.Run)()
	defer background(ctx, log, "digest scheduler", digests.Run)()

	srv := &http.Server{Handler: opsHandler(app, store, m, cfg.Pprof), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("ops http server stopped", "err", err)
		}
	}()
	log.Info("ops endpoints listening", "addr", ln.Addr().String())
	var installSrv *http.Server
	if installer != nil {
		installSrv = &http.Server{Handler: installer.Handler(), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := installSrv.Serve(installLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("install listener stopped", "err", err)
			}
		}()
		log.Info("install listener listening", "addr", installLn.Addr().String(),
			"install_url", installer.InstallURL(), "redirect_url", installer.RedirectURL())
	}

	runErr := app.Run(ctx)
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opsShutdownTimeout)
	defer cancel()
	if installSrv != nil {
		if err := installSrv.Shutdown(sctx); err != nil {
			log.Warn("install listener shutdown", "err", err)
		}
	}
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("ops http server shutdown", "err", err)
	}
	return runErr
}

// background runs fn in a goroutine until ctx ends or the returned stop is
// called; stop waits for it. An error from fn is logged under name.
func background(ctx context.Context, log *slog.Logger, name string, fn func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := fn(ctx); err != nil {
			log.Error(name+" stopped", "err", err)
		}
	}()
	return func() { cancel(); <-done }
}

// openStore connects to REDIS_URL, or starts the embedded Redis with an
// ephemeral key and says loudly that nothing will survive a restart.
// upgradeLayout moves data written before the key layout had Redis
// Cluster hash tags to today's layout, once: afterwards it finds nothing
// to move, at the cost of two SCAN walks of the key space at every start. One
// replica migrates at a time; the others wait for it. The embedded Redis
// starts empty and needs none.
func upgradeLayout(ctx context.Context, store *redisstore.Store, changes *approvals.Changes, digests *digest.RedisStore, log *slog.Logger) error {
	if store.Embedded() {
		return nil
	}
	r, err := store.UpgradeLayout(ctx)
	if err != nil {
		return fmt.Errorf("upgrade the Redis key layout: %w", err)
	}
	nc, err := changes.UpgradeIndexes(ctx)
	if err != nil {
		return fmt.Errorf("upgrade the Redis key layout: %w", err)
	}
	nd, err := digests.UpgradeIndexes(ctx)
	if err != nil {
		return fmt.Errorf("upgrade the Redis key layout: %w", err)
	}
	if r.Moved+r.Kept+nc+nd > 0 {
		log.Info("upgraded the Redis key layout for Redis Cluster", "keys_moved", r.Moved, "keys_superseded", r.Kept,
			"values_rewritten", r.Values, "change_index_entries", nc, "digest_schedule_entries", nd)
	}
	return nil
}

func openStore(ctx context.Context, cfg Config, log *slog.Logger) (*redisstore.Store, secret.Secret, error) {
	if cfg.RedisURL.Empty() {
		store, err := redisstore.OpenEmbedded(ctx, log, redisstore.Options{})
		if err != nil {
			return nil, "", fmt.Errorf("embedded redis: %w", err)
		}
		key, keyNote := cfg.EncryptionKey, "FLAGBOT_ENCRYPTION_KEY"
		if key.Empty() {
			keyNote = "a throwaway encryption key"
			if key, err = tokenstore.GenerateKey(); err != nil {
				store.Close()
				return nil, "", err
			}
		} else if key, err = parseKey(key); err != nil {
			store.Close()
			return nil, "", err
		}
		log.Warn("NOT DURABLE: REDIS_URL is not set, so Flagbot is using an embedded in-memory Redis " +
			"with " + keyNote + ". Connected workspaces, their LaunchDarkly tokens and pending " +
			"approvals are lost when the bot stops. Set REDIS_URL and FLAGBOT_ENCRYPTION_KEY for production.")
		return store, key, nil
	}
	key, err := parseKey(cfg.EncryptionKey)
	if err != nil {
		return nil, "", err
	}
	store, err := redisstore.Open(ctx, cfg.RedisURL.Reveal(), log, redisstore.Options{})
	if err != nil {
		return nil, "", fmt.Errorf("REDIS_URL: %w", err)
	}
	return store, key, nil
}

func parseKey(s secret.Secret) (secret.Secret, error) {
	key, err := tokenstore.ParseKey(s.Reveal())
	if err != nil {
		return "", fmt.Errorf("FLAGBOT_ENCRYPTION_KEY: %w", err)
	}
	return key, nil
}

// newKeyring returns the keyring that encrypts with current and also
// decrypts with the old keys (FLAGBOT_ENCRYPTION_OLD_KEYS, validated by
// loadConfig), and logs the key ids, which reveal nothing about the keys.
func newKeyring(current secret.Secret, old []secret.Secret, log *slog.Logger) (*tokenstore.Keyring, error) {
	keys := map[string]secret.Secret{tokenstore.KeyID(current): current}
	var oldIDs []string
	for i, o := range old {
		k, err := tokenstore.ParseKey(o.Reveal())
		if err != nil {
			return nil, fmt.Errorf("FLAGBOT_ENCRYPTION_OLD_KEYS: key %d: %w", i+1, err)
		}
		if id := tokenstore.KeyID(k); keys[id] == "" {
			keys[id] = k
			oldIDs = append(oldIDs, id)
		}
	}
	ring, err := tokenstore.NewKeyring(tokenstore.KeyID(current), keys)
	if err != nil {
		return nil, fmt.Errorf("encryption keys: %w", err)
	}
	log.Info("encryption keys", "key_id", ring.CurrentID(), "old_key_ids", oldIDs)
	return ring, nil
}

// opsHandler serves the operator endpoints: /healthz (the process is up),
// /readyz (Slack connected and Redis reachable) and /metrics.
func opsHandler(app *slackapp.App, store *redisstore.Store, m *metrics.Metrics, profiling bool) http.Handler {
	mux := http.NewServeMux()
	if profiling {
		// Off by default: profiles show internals. FLAGBOT_PPROF=1 on a
		// private FLAGBOT_HTTP_ADDR only.
		profilingHandlers(mux)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		var problems []string
		if !app.Connected() {
			problems = append(problems, "slack: not connected")
		}
		if err := store.Ping(ctx); err != nil {
			problems = append(problems, "redis: unreachable")
		}
		if len(problems) > 0 {
			http.Error(w, strings.Join(problems, "\n"), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", m.Handler())
	return mux
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level)) // validated in loadConfig
	opts := &slog.HandlerOptions{Level: lv}
	if strings.EqualFold(format, "text") {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
