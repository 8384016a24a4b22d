package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/ld/ldfake"
	"github.com/flagbot/flagbot/internal/playground"
	"github.com/flagbot/flagbot/internal/secret"
	"github.com/flagbot/flagbot/internal/slackfake"
)

const (
	defaultPlaygroundAddr = "127.0.0.1:8088"
	// playgroundLogLevel keeps the terminal quiet: the page shows what
	// happens. LOG_LEVEL overrides it.
	playgroundLogLevel = "error"
	// playgroundRequests caps what the fakes remember for inspection, so
	// a playground left running keeps a flat memory.
	playgroundRequests = 1000
)

// runPlayground runs `flagbot playground [-addr host:port]`: the real bot,
// through runBot and the production configuration path, against an
// embedded fake Slack and a demo LaunchDarkly, both on loopback, with the
// playground page on addr. The demo workspace starts connected with the
// demo Writer token.
func runPlayground(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(args[0]+" playground", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", defaultPlaygroundAddr, "address of the playground page; anything but loopback must be asked for and has no authentication")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s playground [-addr host:port]\n\nTry Flagbot in a browser: the real bot against a fake Slack and a demo LaunchDarkly, all on this machine.\n\n", args[0])
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("playground: unexpected argument %q", fs.Arg(0))
	}
	loopback, err := isLoopbackAddr(*addr)
	if err != nil {
		return fmt.Errorf("playground: -addr %s: %w", *addr, err)
	}

	sl, err := slackfake.Start(slackfake.Options{
		// Well inside the bot's ping watchdog (the library's 30 s); a
		// faster ping only burns CPU.
		PingInterval: 10 * time.Second,
		MaxRecords:   playgroundRequests, // the page needs the workspace, not the history
	})
	if err != nil {
		return err
	}
	defer sl.Close()
	demo := playground.SeedSlack(sl)

	lds := ldfake.New()
	lds.LimitRequests(playgroundRequests)
	if err := playground.SeedLaunchDarkly(lds, time.Now()); err != nil {
		return fmt.Errorf("playground: demo data: %w", err)
	}
	ldLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("playground: demo LaunchDarkly: %w", err)
	}
	sl.SetUnfurlDomains(ldLn.Addr().String()) // links to the demo LaunchDarkly unfurl, as app.launchdarkly.com's do
	ldSrv := &http.Server{Handler: demoLaunchDarkly(lds.Handler()), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = ldSrv.Serve(ldLn) }()
	defer ldSrv.Close()

	page, err := playground.New(sl, lds, demo, playground.Options{AllowAnyHost: !loopback})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("playground: -addr %s: %w", *addr, err)
	}
	pageSrv := &http.Server{Handler: page.Handler(), ReadHeaderTimeout: 5 * time.Second}
	pageDone := make(chan struct{})
	go func() {
		defer close(pageDone)
		_ = pageSrv.Serve(ln)
	}()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = pageSrv.Shutdown(sctx) // SSE streams end with their request contexts
		_ = pageSrv.Close()
		<-pageDone
	}()
	if !loopback {
		fmt.Fprintf(stdout, "WARNING: the playground is listening on %s, beyond this machine, and has no authentication: anyone who can reach it can act as every demo user.\n", ln.Addr())
	}
	fmt.Fprintf(stdout, "Flagbot playground: open http://%s/ (Ctrl-C stops it)\n", browseAddr(ln.Addr().String()))

	// The bot reads its configuration exactly as in production; only the
	// environment is the playground's.
	env := map[string]string{
		"SLACK_APP_TOKEN":   slackfake.DefaultAppToken,
		"SLACK_BOT_TOKEN":   slackfake.DefaultBotToken,
		"SLACK_API_URL":     sl.APIURL(),
		"LD_BASE_URL":       "http://" + ldLn.Addr().String(),
		"FLAGBOT_HTTP_ADDR": "127.0.0.1:0",
		"LOG_FORMAT":        "text",
		"LOG_LEVEL":         playgroundLogLevel,
	}
	if lv := getenv("LOG_LEVEL"); lv != "" {
		env["LOG_LEVEL"] = lv
	}
	connect := func(ctx context.Context, exec *commands.Executor) error {
		admin := commands.Actor{Workspace: commands.Workspace{TeamID: slackfake.TeamID}, UserID: playground.DemoAdmin, ChannelID: demo.Channel}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := exec.Connect(cctx, admin, commands.ConnectInput{
			Token: secret.Secret(playground.DemoWriterToken), Project: demo.Project, Env: demo.Env,
		})
		if err != nil {
			return fmt.Errorf("playground: connect the demo workspace: %w", err)
		}
		return nil
	}
	return runBot(ctx, []string{args[0]}, func(k string) string { return env[k] }, io.Discard, stderr, botHooks{wired: connect})
}

// demoLaunchDarkly serves the demo LaunchDarkly's API, and a short page for
// the links into LaunchDarkly's web app that the bot's messages carry.
func demoLaunchDarkly(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><meta charset="utf-8"><title>Demo LaunchDarkly</title>`+
			`<p>This link would open LaunchDarkly. The playground's LaunchDarkly is a demo without a web app: `+
			`the LaunchDarkly panel on the playground page shows its flags and audit log.</p>`)
	})
	return mux
}

// isLoopbackAddr reports whether host:port names only this machine; a
// bare ":port" or 0.0.0.0 does not.
func isLoopbackAddr(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	if host == "localhost" {
		return true, nil
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback(), nil
}

// browseAddr turns a listening address into one a browser can open.
func browseAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
