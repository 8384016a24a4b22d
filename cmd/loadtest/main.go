// Command loadtest measures the real bot under load: it builds cmd/bot (as
// the Dockerfile does: static, stripped), starts it as its own process against an embedded fake Slack (Socket Mode
// and Web API) and the playground's demo LaunchDarkly, both on loopback,
// connects the demo workspace through the connect modal, fires slash
// commands at a fixed concurrency after a warm-up, and prints one line:
// ack and done latency percentiles, commands per second, the bot's CPU
// time per command (from /proc), its peak resident memory (VmHWM, which
// counts the pages of the binary the kernel mapped) and peak anonymous
// memory (RssAnon sampled every 20 ms: what the bot allocated), the TCP
// connections the bot opened to the fakes during the measurement, and
// errors.
//
//	go run ./cmd/loadtest -n 10000 -c 20 -cpu 1
//
// With -flow approve one unit is a whole change instead (see approve.go): a
// demo member asks to turn a flag on or off in production, another approves
// it with the button, and the bot applies it in LaunchDarkly and edits the
// request to its applied state. The line then gives the click's ack, the
// time from the click to the applied edit, the time from the command to the
// posted request, the bot's CPU per unit, the writes LaunchDarkly applied,
// and the units that did not end applied, by reason.
//
//	go run ./cmd/loadtest -flow approve -n 2000 -c 4 -cpu 1
//
// Nothing leaves the machine: every server is on 127.0.0.1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// run parses the flags and runs one load test.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.IntVar(&o.n, "n", 10000, "slash commands to measure")
	fs.IntVar(&o.c, "c", 20, "commands in flight at once")
	fs.IntVar(&o.warmup, "warmup", 500, "commands sent before measuring")
	fs.StringVar(&o.flow, "flow", flowCommand, "what one unit is: command (one slash command, -text) or approve (a change requested, approved by someone else and applied)")
	fs.StringVar(&o.text, "text", "show new-checkout production", "the text after /flag (command flow)")
	fs.StringVar(&o.redisURL, "redis-url", "", "REDIS_URL for the bot (empty: its embedded Redis)")
	fs.BoolVar(&o.isolate, "isolate", false, "with -cpu, also keep the load test (the fakes) off the bot's CPU")
	fs.IntVar(&o.cpu, "cpu", -1, "pin the bot to this CPU with taskset (-1: no pinning)")
	fs.StringVar(&o.bot, "bot", "", "a built cmd/bot binary (empty: go build it)")
	fs.StringVar(&o.label, "label", "", "a label printed first on the result line")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the bot during the measured run to this file (FLAGBOT_PPROF)")
	fs.IntVar(&o.profileSeconds, "profile-seconds", 10, "how long the CPU profile runs, from the start of the measurement")
	before := fs.String("before", "", "also measure this bot, alternating with the one measured (-bot or the working tree's): a built binary or a git revision, e.g. 63281b6")
	rounds := fs.Int("rounds", 1, "with -before, how many times each bot runs")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if o.n <= 0 || o.c <= 0 || o.warmup < 0 {
		return errors.New("-n and -c must be positive, -warmup not negative")
	}
	switch {
	case o.flow != flowCommand && o.flow != flowApprove:
		return fmt.Errorf("-flow must be %s or %s", flowCommand, flowApprove)
	case o.flow == flowApprove && o.c > approveMaxC:
		return fmt.Errorf("-flow approve takes at most -c %d (one flag per worker)", approveMaxC)
	}
	if *before != "" {
		if *rounds < 1 || o.cpuprofile != "" {
			return errors.New("-before needs -rounds of at least 1, and no -cpuprofile")
		}
		return compare(ctx, o, *before, *rounds, stdout, stderr)
	}
	res, err := loadTest(ctx, o, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, res)
	return nil
}
