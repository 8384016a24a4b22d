package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flagbot/flagbot/internal/ld/ldfake"
	"github.com/flagbot/flagbot/internal/playground"
	"github.com/flagbot/flagbot/internal/slackfake"
)

// options are the load test's knobs.
type options struct {
	n, c, warmup   int
	flow           string // flowCommand or flowApprove
	text           string
	redisURL       string
	cpu            int
	isolate        bool // with cpu: the load test keeps off the bot's CPU
	bot            string
	label          string
	cpuprofile     string
	profileSeconds int
}

// What one measured unit is.
const (
	flowCommand = "command" // one slash command (-text) and its reply
	flowApprove = "approve" // a change requested, approved by someone else and applied (approve.go)
)

// Limits of one run.
const (
	startTimeout   = 30 * time.Second // the bot connecting to the fake Slack
	commandTimeout = 30 * time.Second // one command's ack and reply
	// clockTicks is the unit of utime and stime in /proc/PID/stat
	// (sysconf(_SC_CLK_TCK), 100 on Linux).
	clockTicks = 100
)

// result is what one run measured.
type result struct {
	o         options
	ack, done []time.Duration
	elapsed   time.Duration
	cpu       time.Duration
	// cpuRequest and cpuApprove split the approve flow's CPU between its
	// halves, measured per round (see driveRounds).
	cpuRequest, cpuApprove time.Duration
	idleRSS, peakRSS       int64 // bytes
	// peakAnon is the largest anonymous resident memory sampled during
	// the measurement (heap, stacks: what the bot allocated), without the
	// pages of its binary that VmHWM also counts.
	peakAnon     int64
	conns        int64
	connsBy      [3]int64 // of conns: to LaunchDarkly, Slack, response_url
	errors       int
	errorSamples []string

	// The approve flow's: ack is the click's, done from the click to the
	// applied edit, request from the slash command to the posted request.
	request []time.Duration
	// reasons counts the units that did not end applied, by why.
	reasons map[string]int
	// ldWrites is how many writes LaunchDarkly applied to the workers'
	// flags during the measurement.
	ldWrites int
}

func pct(ds []time.Duration, p float64) string {
	if len(ds) == 0 {
		return "-"
	}
	return fmtDur(ds[min(len(ds)-1, int(float64(len(ds))*p))])
}

func (r result) String() string {
	if r.o.flow == flowApprove {
		return r.approveString()
	}
	n := len(r.done)
	rate := float64(n) / r.elapsed.Seconds()
	perCmd := time.Duration(0)
	if n > 0 {
		perCmd = r.cpu / time.Duration(n)
	}
	var b strings.Builder
	if r.o.label != "" {
		b.WriteString(r.o.label + " ")
	}
	fmt.Fprintf(&b, "n=%d c=%d %q ack p50=%s p95=%s p99=%s done p50=%s p95=%s p99=%s rate=%.0f/s cpu=%.2fs cpu/cmd=%s idleRSS=%.1fMB peakRSS=%.1fMB peakAnon=%.1fMB newconns=%d (ld %d, slack %d, response_url %d) errors=%d",
		n, r.o.c, r.o.text, pct(r.ack, .5), pct(r.ack, .95), pct(r.ack, .99), pct(r.done, .5), pct(r.done, .95), pct(r.done, .99),
		rate, r.cpu.Seconds(), fmtDur(perCmd), float64(r.idleRSS)/(1<<20), float64(r.peakRSS)/(1<<20), float64(r.peakAnon)/(1<<20), r.conns, r.connsBy[0], r.connsBy[1], r.connsBy[2], r.errors)
	for _, e := range r.errorSamples {
		b.WriteString("\n  error: " + e)
	}
	return b.String()
}

// approveString is the approve flow's line: n units measured, how many
// ended applied, the click's ack, click to applied edit, command to posted
// request, then as the command flow's line per unit, and the errors by
// reason.
func (r result) approveString() string {
	applied := len(r.done)
	perUnit := time.Duration(0)
	if r.o.n > 0 {
		perUnit = r.cpu / time.Duration(r.o.n)
	}
	var b strings.Builder
	if r.o.label != "" {
		b.WriteString(r.o.label + " ")
	}
	fmt.Fprintf(&b, "flow=approve n=%d c=%d applied=%d click ack p50=%s p95=%s p99=%s applied p50=%s p95=%s p99=%s request p50=%s p95=%s p99=%s rate=%.0f/s cpu=%.2fs cpu/unit=%s (request %s, approve→applied %s) idleRSS=%.1fMB peakRSS=%.1fMB peakAnon=%.1fMB newconns=%d (ld %d, slack %d, response_url %d) ldwrites=%d errors=%d",
		r.o.n, r.o.c, applied, pct(r.ack, .5), pct(r.ack, .95), pct(r.ack, .99), pct(r.done, .5), pct(r.done, .95), pct(r.done, .99),
		pct(r.request, .5), pct(r.request, .95), pct(r.request, .99),
		float64(applied)/r.elapsed.Seconds(), r.cpu.Seconds(), fmtDur(perUnit), fmtDur(r.cpuRequest/time.Duration(max(r.o.n, 1))), fmtDur(r.cpuApprove/time.Duration(max(r.o.n, 1))), float64(r.idleRSS)/(1<<20), float64(r.peakRSS)/(1<<20), float64(r.peakAnon)/(1<<20),
		r.conns, r.connsBy[0], r.connsBy[1], r.connsBy[2], r.ldWrites, r.errors)
	if len(r.reasons) > 0 {
		keys := slices.Sorted(maps.Keys(r.reasons))
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s: %d", k, r.reasons[k])
		}
		b.WriteString(" (" + strings.Join(parts, ", ") + ")")
	}
	for _, e := range r.errorSamples {
		b.WriteString("\n  error: " + e)
	}
	return b.String()
}

func fmtDur(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64) + "ms"
}

// connCounter counts the connections a server accepted.
type connCounter struct{ n atomic.Int64 }

func (c *connCounter) hook(_ net.Conn, s http.ConnState) {
	if s == http.StateNew {
		c.n.Add(1)
	}
}

// loadTest runs the whole test.
func loadTest(ctx context.Context, o options, stderr io.Writer) (result, error) {
	res := result{o: o}
	if o.cpu >= 0 && o.isolate {
		if err := pinSelfAway(ctx, o.cpu); err != nil {
			return res, err
		}
	}
	bin := o.bot
	if bin == "" {
		dir, err := os.MkdirTemp("", "flagbot-loadtest-")
		if err != nil {
			return res, err
		}
		defer os.RemoveAll(dir)
		bin = filepath.Join(dir, "flagbot")
		if err := buildBot(ctx, ".", bin, stderr); err != nil {
			return res, err
		}
	}

	var conns, ldConns, slackConns, replyConns connCounter
	hook := func(c *connCounter) func(net.Conn, http.ConnState) {
		return func(nc net.Conn, st http.ConnState) { conns.hook(nc, st); c.hook(nc, st) }
	}
	// The demo LaunchDarkly.
	lds := ldfake.New()
	lds.LimitRequests(1000)
	if err := playground.SeedLaunchDarkly(lds, time.Now()); err != nil {
		return res, err
	}
	var approve *approveFlow
	if o.flow == flowApprove {
		if err := addApproveFlags(lds, o.c); err != nil {
			return res, err
		}
		approve = newApproveFlow(playground.DemoChannel)
	}
	ldSrv, ldURL, err := serve(lds.Handler(), hook(&ldConns))
	if err != nil {
		return res, err
	}
	defer ldSrv.Close()

	// The fake Slack; acks are routed to their waiting unit, and so are
	// the approve flow's posts and edits.
	rg := &rig{lds: lds, acks: newWaiters[slackfake.Ack](), replies: newWaiters[[]byte]()}
	slOpts := slackfake.Options{
		MaxRecords:   1000,
		PingInterval: 10 * time.Second,
		ConnState:    hook(&slackConns),
		OnAck:        func(a slackfake.Ack) { rg.acks.deliver(a.EnvelopeID, a) },
	}
	if approve != nil {
		slOpts.OnCall = approve.onCall
	}
	sl, err := slackfake.Start(slOpts)
	if err != nil {
		return res, err
	}
	defer sl.Close()
	rg.sl = sl
	rg.demo = playground.SeedSlack(sl)

	// Replies arrive at our own response_url server, keyed by path.
	replySrv, replyURL, err := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		rg.replies.deliver(r.URL.Path, body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}), hook(&replyConns))
	if err != nil {
		return res, err
	}
	defer replySrv.Close()
	rg.replyURL = replyURL

	// The bot, as its own process.
	var botLog bytes.Buffer
	cmdArgs := []string{bin}
	if o.cpu >= 0 {
		cmdArgs = append([]string{"taskset", "-c", strconv.Itoa(o.cpu)}, cmdArgs...)
	}
	bot := exec.CommandContext(ctx, cmdArgs[0], cmdArgs[1:]...)
	bot.Env = append(os.Environ(),
		"SLACK_APP_TOKEN="+slackfake.DefaultAppToken, "SLACK_BOT_TOKEN="+slackfake.DefaultBotToken,
		"SLACK_API_URL="+sl.APIURL(), "LD_BASE_URL="+ldURL, "FLAGBOT_HTTP_ADDR=127.0.0.1:0",
		"LOG_LEVEL=warn", "REDIS_URL="+o.redisURL)
	if o.redisURL != "" {
		bot.Env = append(bot.Env, "FLAGBOT_ENCRYPTION_KEY=bG9hZHRlc3QtbG9hZHRlc3QtbG9hZHRlc3QtbG9hZHQ=")
	}
	opsAddr := ""
	if o.cpuprofile != "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return res, err
		}
		opsAddr = ln.Addr().String()
		ln.Close()
		bot.Env = append(bot.Env, "FLAGBOT_PPROF=1", "FLAGBOT_HTTP_ADDR="+opsAddr)
	}
	bot.Stdout, bot.Stderr = &botLog, &botLog
	if err := bot.Start(); err != nil {
		return res, fmt.Errorf("start the bot: %w", err)
	}
	defer func() {
		_ = bot.Process.Signal(os.Interrupt)
		_ = bot.Wait()
	}()
	pid := bot.Process.Pid
	fail := func(err error) (result, error) {
		return res, fmt.Errorf("%w\nbot output:\n%s", err, tail(botLog.String(), 2000))
	}
	if err := waitUntil(ctx, startTimeout, func() bool { return sl.Connected() > 0 }); err != nil {
		return fail(errors.New("the bot did not connect to the fake Slack"))
	}
	if err := connect(ctx, sl, rg.demo); err != nil {
		return fail(err)
	}

	one := func(ctx context.Context, _ int) sample { return rg.command(ctx, o.text) }
	if approve != nil {
		one = func(ctx context.Context, worker int) sample { return approve.unit(ctx, rg, worker) }
	}

	// Warm up, then measure.
	if _, err := drive(ctx, o.warmup, o.c, one); err != nil {
		return fail(err)
	}
	res.idleRSS = procStatus(pid, "VmRSS")
	cpu0, err := procCPU(pid)
	if err != nil {
		return fail(err)
	}
	conns0, ld0, slack0, reply0 := conns.n.Load(), ldConns.n.Load(), slackConns.n.Load(), replyConns.n.Load()
	writes0 := ldWrites(lds, o.c)
	start := time.Now()
	profiled := make(chan error, 1)
	if o.cpuprofile != "" {
		go func() { profiled <- profile(ctx, opsAddr, o.profileSeconds, o.cpuprofile) }()
	}
	sampled := make(chan int64, 1)
	stopSampling := make(chan struct{})
	go func() { sampled <- peakOf(pid, "RssAnon", stopSampling) }()
	var samples []sample
	if approve != nil {
		samples, res.cpuRequest, res.cpuApprove, err = approve.driveRounds(ctx, rg, o.n, o.c, pid)
	} else {
		samples, err = drive(ctx, o.n, o.c, one)
	}
	close(stopSampling)
	res.peakAnon = <-sampled
	if err != nil {
		return fail(err)
	}
	res.elapsed = time.Since(start)
	if o.cpuprofile != "" {
		if err := <-profiled; err != nil {
			return fail(fmt.Errorf("cpu profile: %w", err))
		}
	}
	cpu1, err := procCPU(pid)
	if err != nil {
		return fail(err)
	}
	res.cpu = cpu1 - cpu0
	res.conns = conns.n.Load() - conns0
	res.connsBy = [3]int64{ldConns.n.Load() - ld0, slackConns.n.Load() - slack0, replyConns.n.Load() - reply0}
	res.peakRSS = procStatus(pid, "VmHWM")
	if approve != nil {
		res.ldWrites = ldWrites(lds, o.c) - writes0
		res.tallyUnits(samples)
		return res, nil
	}
	for _, s := range samples {
		if s.err != nil || isError(s.body) {
			res.errors++
			if len(res.errorSamples) < 3 {
				msg := string(s.body)
				if s.err != nil {
					msg = s.err.Error()
				}
				res.errorSamples = append(res.errorSamples, tail(msg, 300))
			}
			continue
		}
		res.ack = append(res.ack, s.ack)
		res.done = append(res.done, s.done)
	}
	slices.Sort(res.ack)
	slices.Sort(res.done)
	return res, nil
}

// tallyUnits fills in the approve flow's latencies and errors.
func (r *result) tallyUnits(samples []sample) {
	for _, s := range samples {
		var ue *unitError
		if errors.As(s.err, &ue) {
			r.errors++
			if r.reasons == nil {
				r.reasons = map[string]int{}
			}
			r.reasons[ue.reason]++
			if len(r.errorSamples) < 3 {
				r.errorSamples = append(r.errorSamples, ue.Error())
			}
			continue
		}
		r.ack = append(r.ack, s.ack)
		r.done = append(r.done, s.done)
		r.request = append(r.request, s.request)
	}
	slices.Sort(r.ack)
	slices.Sort(r.done)
	slices.Sort(r.request)
}

// sample is one unit's measurement.
type sample struct {
	ack, done time.Duration
	request   time.Duration // the approve flow's: command sent to request posted
	body      []byte
	err       error
}

// drive runs n units with c in flight at once: c workers, numbered from 0,
// each running one unit after the other.
func drive(ctx context.Context, n, c int, one func(ctx context.Context, worker int) sample) ([]sample, error) {
	out := make([]sample, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range min(c, max(n, 1)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				out[i] = one(ctx, w)
			}
		})
	}
	wg.Wait()
	return out, ctx.Err()
}

// ackLatency is the bot's ack latency: from the fake writing the envelope
// to reading its ack. The time the load test took to build and hand over
// the envelope (JSON, locks shared with the other workers) is not the
// bot's.
func ackLatency(a slackfake.Ack) time.Duration { return a.At.Sub(a.Sent) }

// rig is what the flows drive: the fakes, our response_url server and the
// routes of what comes back.
type rig struct {
	sl       *slackfake.Server
	lds      *ldfake.Server
	demo     playground.Demo
	replyURL string
	acks     *waiters[slackfake.Ack] // by envelope ID
	replies  *waiters[[]byte]        // by response_url path
	seq      atomic.Int64
}

// newPath returns a fresh response_url path.
func (r *rig) newPath() string { return "/r/" + strconv.FormatInt(r.seq.Add(1), 10) }

// slashPayload is a /flag command from user in the demo channel, answering
// to path on our response_url server.
func (r *rig) slashPayload(user, userName, text, path string) map[string]any {
	return map[string]any{
		"token": "slackfake-verification-token", "team_id": slackfake.TeamID, "team_domain": "demo",
		"channel_id": r.demo.Channel, "channel_name": r.demo.ChannelName, "user_id": user, "user_name": userName,
		"command": "/flag", "text": text, "api_app_id": slackfake.AppID, "is_enterprise_install": "false",
		"response_url": r.replyURL + path, "trigger_id": r.sl.NewTriggerID(),
	}
}

// command sends `/flag text` as a demo member and waits for its ack and
// its reply: the command flow's unit.
func (r *rig) command(ctx context.Context, text string) sample {
	path := r.newPath()
	replies := r.replies.add(path)
	defer r.replies.remove(path)
	payload := r.slashPayload(playground.DemoMember, "bo", text, path)
	start := time.Now()
	id, acked, err := r.acks.addSent(func() (string, error) { return r.sl.Send("slash_commands", payload, true) })
	if err != nil {
		return sample{err: err}
	}
	defer r.acks.remove(id)
	tctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	var s sample
	select {
	case a := <-acked:
		s.ack = ackLatency(a)
	case <-tctx.Done():
		return sample{err: errors.New("no ack")}
	}
	select {
	case s.body = <-replies:
		s.done = time.Since(start)
	case <-tctx.Done():
		return sample{ack: s.ack, err: errors.New("no reply")}
	}
	return s
}

// isError reports whether a reply is one of the bot's failure answers.
func isError(body []byte) bool {
	for _, s := range []string{"Something went wrong", "took too long", "isn't answering", "rate-limiting", "state store is unavailable", "not connected"} {
		if bytes.Contains(body, []byte(s)) {
			return true
		}
	}
	return false
}

// connect connects the demo workspace through the connect modal, as an
// admin would.
func connect(ctx context.Context, sl *slackfake.Server, demo playground.Demo) error {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	sent := time.Now()
	if _, err := sl.SlashCommand(slackfake.SlashCommand{UserID: playground.DemoAdmin, ChannelID: demo.Channel, Text: "connect"}); err != nil {
		return err
	}
	if _, err := sl.WaitCall(ctx, "views.open", func(c slackfake.Call) bool { return c.At.After(sent) }); err != nil {
		return fmt.Errorf("the connect modal did not open: %w", err)
	}
	id, err := sl.ViewSubmission(slackfake.ViewSubmission{
		UserID: playground.DemoAdmin, CallbackID: "flag_connect", PrivateMetadata: demo.Channel,
		Values: map[string]map[string]any{
			"ld_token":   {"ld_token_input": map[string]any{"type": "plain_text_input", "value": playground.DemoWriterToken}},
			"ld_project": {"ld_project_input": map[string]any{"type": "plain_text_input", "value": "web"}},
			"ld_env":     {"ld_env_input": map[string]any{"type": "plain_text_input", "value": "production"}},
		},
	})
	if err != nil {
		return err
	}
	ack, err := sl.WaitAck(ctx, id)
	if err != nil {
		return fmt.Errorf("no ack for the connect modal: %w", err)
	}
	if ack.Payload != nil {
		return fmt.Errorf("connecting the demo workspace failed: %s", ack.Payload)
	}
	return nil
}

// serve serves h on a fresh loopback port and returns its base URL.
func serve(h http.Handler, hook func(net.Conn, http.ConnState)) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ConnState: hook}
	go func() { _ = srv.Serve(ln) }()
	return srv, "http://" + ln.Addr().String(), nil
}

func waitUntil(ctx context.Context, d time.Duration, ok func() bool) error {
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return errors.New("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// procCPU returns a process's user plus system CPU time.
func procCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read the bot's CPU time (Linux only): %w", err)
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14, stime 15.
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0, errors.New("short /proc stat line")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// procStatus returns a kB field of /proc/PID/status in bytes (0 if unknown).
// peakOf samples a /proc/PID/status field every 20 ms until stop closes
// and returns the largest value seen.
func peakOf(pid int, field string, stop <-chan struct{}) int64 {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	peak := procStatus(pid, field)
	for {
		select {
		case <-stop:
			return max(peak, procStatus(pid, field))
		case <-t.C:
			peak = max(peak, procStatus(pid, field))
		}
	}
}

func procStatus(pid int, field string) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// profile fetches a CPU profile of the bot's next seconds and writes it to
// file.
func profile(ctx context.Context, addr string, seconds int, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, seconds), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof answered %s", resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// pinSelfAway keeps this process (the fakes, which do as much work as the
// bot) off cpu, the bot's CPU, so that what is measured is the bot: taskset
// -a sets every thread's affinity, and threads made later inherit it. On a
// machine with one CPU it does nothing.
func pinSelfAway(ctx context.Context, cpu int) error {
	n := runtime.NumCPU()
	if cpu >= n {
		return fmt.Errorf("-cpu %d: this machine has CPUs 0 to %d", cpu, n-1)
	}
	var others []string
	for i := range n {
		if i != cpu {
			others = append(others, strconv.Itoa(i))
		}
	}
	if len(others) == 0 {
		return nil
	}
	out, err := exec.CommandContext(ctx, "taskset", "-a", "-p", "-c", strings.Join(others, ","), strconv.Itoa(os.Getpid())).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pin the load test off CPU %d: %w: %s", cpu, err, out)
	}
	return nil
}
