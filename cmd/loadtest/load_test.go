package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLoadTest runs the load benchmark end to end on a small scale, once
// per flow: it builds the bot, drives it through the fakes and checks the
// result line's counts exactly.
func TestLoadTest(t *testing.T) {
	// go build ./cmd/bot runs from the repository root.
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	bin := builtBot(t)
	tests := []struct {
		name string
		args []string
		want map[string]string // fields of the result line
	}{
		{
			name: "command",
			args: []string{"-n", "60", "-c", "6", "-warmup", "6", "-label", "smoke"},
			want: map[string]string{"n": "60", "c": "6", "errors": "0"},
		},
		{
			// Every unit is a change requested by one demo member,
			// approved by another and applied: twelve units, twelve
			// LaunchDarkly writes, none left pending or failed.
			name: "approve",
			args: []string{"-flow", "approve", "-n", "12", "-c", "3", "-warmup", "3", "-label", "smoke"},
			want: map[string]string{"flow": "approve", "n": "12", "c": "3", "applied": "12", "ldwrites": "12", "errors": "0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"loadtest", "-bot", bin}, tt.args...)
			if err := run(t.Context(), args, &stdout, &stderr); err != nil {
				t.Fatalf("loadtest: %v\n%s", err, stderr.String())
			}
			line := strings.TrimSuffix(stdout.String(), "\n")
			if strings.Contains(line, "\n") || !strings.HasPrefix(line, "smoke ") {
				t.Fatalf("result = %q, want one line starting with the label", line)
			}
			got := fields(line)
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s=%q, want %q in %q", k, got[k], v, line)
				}
			}
			if tt.name == "approve" {
				// Each half of a unit took some CPU, measured apart.
				m := regexp.MustCompile(`cpu/unit=\S+ \(request ([0-9.]+)ms, approve→applied ([0-9.]+)ms\)`).FindStringSubmatch(line)
				if m == nil || m[1] == "0.00" || m[2] == "0.00" {
					t.Errorf("result line %q lacks the CPU of each half", line)
				}
			}
			// The ack is timed from the envelope's write: a latency, not a
			// date (a zero send time would make it decades).
			if p99, err := time.ParseDuration(got["p99"]); err != nil || p99 <= 0 || p99 > 5*time.Second {
				t.Errorf("ack p99 = %q, want a latency under 5s, in %q", got["p99"], line)
			}
			for _, k := range []string{"peakRSS", "rate"} {
				if got[k] == "" {
					t.Errorf("result line %q lacks %s=", line, k)
				}
			}
		})
	}
}

// fields returns the key=value words of a result line, the first of each
// key.
func fields(line string) map[string]string {
	out := map[string]string{}
	for _, w := range strings.Fields(line) {
		if k, v, ok := strings.Cut(w, "="); ok {
			if _, seen := out[k]; !seen {
				out[k] = v
			}
		}
	}
	return out
}

// builtBot builds cmd/bot as loadTest would and returns the binary.
func builtBot(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "flagbot")
	if err := buildBot(t.Context(), ".", bin, t.Output()); err != nil { // from the module root
		t.Fatal(err)
	}
	return bin
}

// TestThreadsCPU checks threadsCPU against the kernel's own account of
// this process's CPU time (getrusage). It spins until getrusage counts
// 50 ms, not for 50 ms of wall time: on a busy machine the spinning
// thread gets only part of a core. The two must agree within a half of
// that: a reading of nothing, or of every thread twice, fails.
func TestThreadsCPU(t *testing.T) {
	rusage := func() time.Duration {
		t.Helper()
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	before, err := threadsCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	ruBefore := rusage()
	for deadline := time.Now().Add(10 * time.Second); rusage()-ruBefore < 50*time.Millisecond; {
		if time.Now().After(deadline) {
			t.Fatal("50 ms of CPU took over 10 s of spinning")
		}
	}
	after, err := threadsCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	got, want := after-before, rusage()-ruBefore
	if got < want/2 || got > want*3/2 {
		t.Errorf("threadsCPU counted %s while getrusage counted %s", got, want)
	}
}

// TestCompare: -before alternates two bots and sums each up; a git
// revision is built in a worktree that is removed again.
func TestCompare(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	bin := builtBot(t)
	for _, tt := range []struct {
		name, before string
		rounds       int
	}{
		{"a binary", bin, 2},
		{"a git revision", "HEAD", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := []string{"loadtest", "-bot", bin, "-before", tt.before, "-rounds", strconv.Itoa(tt.rounds), "-n", "20", "-c", "2", "-warmup", "2", "-label", "cmp"}
			if err := run(t.Context(), args, &stdout, &stderr); err != nil {
				t.Fatalf("loadtest: %v\n%s", err, stderr.String())
			}
			lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
			var want []string
			for range tt.rounds {
				want = append(want, "cmp before n=20", "cmp after n=20")
			}
			want = append(want, fmt.Sprintf("cmp before summary of %d runs:", tt.rounds), fmt.Sprintf("cmp after summary of %d runs:", tt.rounds))
			if len(lines) != len(want) {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), stdout.String())
			}
			for i, w := range want {
				if !strings.HasPrefix(lines[i], w+" ") || !strings.Contains(lines[i], "errors=0") {
					t.Errorf("line %d = %q, want it to start %q and say errors=0", i, lines[i], w)
				}
			}
			if out, err := exec.CommandContext(t.Context(), "git", "worktree", "list", "--porcelain").Output(); err != nil || strings.Contains(string(out), "flagbot-compare-") {
				t.Errorf("a worktree of the comparison is left: %s %v", out, err)
			}
		})
	}
}

// TestSettled: settled reads the CPU until two reads settleGap apart
// differ by less than settleBusy, and returns the last; a bot that never
// settles is given up on after settleMax; a failed read is an error.
func TestSettled(t *testing.T) {
	t.Parallel()
	reads := func(ds ...time.Duration) (func() (time.Duration, error), *int) {
		n := 0
		return func() (time.Duration, error) {
			d := ds[min(n, len(ds)-1)]
			n++
			return d, nil
		}, &n
	}
	ms := time.Millisecond
	cpu, n := reads(10*ms, 12*ms, 14*ms, 14*ms+settleBusy/2, 99*ms)
	if got, err := settled(cpu); err != nil || got != 14*ms+settleBusy/2 || *n != 4 {
		t.Errorf("settled = %v, %v after %d reads; want 14.025ms after 4", got, err, *n)
	}
	busy := time.Duration(0)
	start := time.Now()
	if _, err := settled(func() (time.Duration, error) { busy += ms; return busy, nil }); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < settleMax {
		t.Errorf("a bot that never settles was given up on after %v, want %v", took, settleMax)
	}
	if _, err := settled(func() (time.Duration, error) { return 0, os.ErrNotExist }); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed read gave %v", err)
	}
}
