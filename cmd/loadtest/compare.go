package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// compare runs the load test on the bot before and after, rounds times,
// alternating (before, after, before, …) so that both meet the same
// machine, and prints each run's line labelled "before" or "after", then a
// summary line per binary with the range of each figure. before is a built
// bot binary or a git revision of this repository, built as the Dockerfile
// builds it; after is o.bot, or the working tree's cmd/bot.
func compare(ctx context.Context, o options, before string, rounds int, stdout, stderr io.Writer) error {
	dir, err := os.MkdirTemp("", "flagbot-compare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	beforeBin, err := beforeBinary(ctx, before, dir, stderr)
	if err != nil {
		return err
	}
	afterBin := o.bot
	if afterBin == "" {
		afterBin = filepath.Join(dir, "after")
		if err := buildBot(ctx, ".", afterBin, stderr); err != nil {
			return err
		}
	}
	names := [2]string{"before", "after"}
	var runs [2][]result
	for range rounds {
		for i, bin := range []string{beforeBin, afterBin} {
			oo := o
			oo.bot = bin
			oo.label = strings.TrimSpace(o.label + " " + names[i])
			res, err := loadTest(ctx, oo, stderr)
			if err != nil {
				return fmt.Errorf("%s: %w", names[i], err)
			}
			fmt.Fprintln(stdout, res)
			runs[i] = append(runs[i], res)
		}
	}
	for i := range names {
		fmt.Fprintln(stdout, summarize(strings.TrimSpace(o.label+" "+names[i]), runs[i]))
	}
	return nil
}

// beforeBinary returns before when it is a file, else builds the git
// revision before of the repository the load test runs in, in a worktree
// under dir that it removes again.
func beforeBinary(ctx context.Context, before, dir string, stderr io.Writer) (string, error) {
	if st, err := os.Stat(before); err == nil && !st.IsDir() {
		return before, nil
	}
	src := filepath.Join(dir, "src")
	add := exec.CommandContext(ctx, "git", "worktree", "add", "--detach", src, before)
	if out, err := add.CombinedOutput(); err != nil {
		return "", fmt.Errorf("-before %q is neither a file nor a git revision here: %w: %s", before, err, strings.TrimSpace(string(out)))
	}
	defer func() {
		rm := exec.CommandContext(context.WithoutCancel(ctx), "git", "worktree", "remove", "--force", src)
		if out, err := rm.CombinedOutput(); err != nil {
			fmt.Fprintf(stderr, "loadtest: remove the worktree %s: %v: %s\n", src, err, out)
		}
	}()
	bin := filepath.Join(dir, "before")
	return bin, buildBot(ctx, src, bin, stderr)
}

// buildBot builds the cmd/bot of the module in srcDir to out, as the
// Dockerfile builds it: static, stripped.
func buildBot(ctx context.Context, srcDir, out string, stderr io.Writer) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", abs, "./cmd/bot")
	build.Dir = srcDir
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stderr = stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build the bot in %s (run me from the repository root): %w", srcDir, err)
	}
	return nil
}

// summarize is one line with the range (lowest–highest) of each figure of
// runs, as the README's tables give them.
func summarize(label string, runs []result) string {
	if len(runs) == 0 {
		return label + " no runs"
	}
	type figure struct {
		name string
		of   func(result) float64
		unit string
	}
	perUnit := func(d time.Duration, r result) float64 {
		n := len(r.done)
		if r.o.flow == flowApprove {
			n = r.o.n
		}
		if n == 0 {
			return 0
		}
		return float64(d) / float64(n) / float64(time.Millisecond)
	}
	p99 := func(ds []time.Duration) float64 {
		if len(ds) == 0 {
			return 0
		}
		return float64(ds[min(len(ds)-1, int(float64(len(ds))*.99))]) / float64(time.Millisecond)
	}
	mb := func(b int64) float64 { return float64(b) / (1 << 20) }
	figures := []figure{
		{"ack_p99", func(r result) float64 { return p99(r.ack) }, "ms"},
		{"cpu/unit", func(r result) float64 { return perUnit(r.cpu, r) }, "ms"},
	}
	if runs[0].o.flow == flowApprove {
		figures = append(figures,
			figure{"cpu_request", func(r result) float64 { return perUnit(r.cpuRequest, r) }, "ms"},
			figure{"cpu_approve", func(r result) float64 { return perUnit(r.cpuApprove, r) }, "ms"})
	}
	figures = append(figures,
		figure{"rate", func(r result) float64 { return float64(len(r.done)) / r.elapsed.Seconds() }, "/s"},
		figure{"idleRSS", func(r result) float64 { return mb(r.idleRSS) }, "MB"},
		figure{"peakRSS", func(r result) float64 { return mb(r.peakRSS) }, "MB"},
		figure{"peakAnon", func(r result) float64 { return mb(r.peakAnon) }, "MB"},
		figure{"newconns", func(r result) float64 { return float64(r.conns) }, ""},
		figure{"errors", func(r result) float64 { return float64(r.errors) }, ""})
	var b strings.Builder
	fmt.Fprintf(&b, "%s summary of %d runs:", label, len(runs))
	for _, f := range figures {
		lo, hi := f.of(runs[0]), f.of(runs[0])
		for _, r := range runs[1:] {
			lo, hi = min(lo, f.of(r)), max(hi, f.of(r))
		}
		prec := 2
		if f.unit == "/s" || f.unit == "" {
			prec = 0
		} else if f.unit == "MB" {
			prec = 1
		}
		if lo == hi {
			fmt.Fprintf(&b, " %s=%.*f%s", f.name, prec, lo, f.unit)
		} else {
			fmt.Fprintf(&b, " %s=%.*f–%.*f%s", f.name, prec, lo, prec, hi, f.unit)
		}
	}
	return b.String()
}
