package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/slackfake"
	"github.com/flagbot/flagbot/internal/testport"
)

// BenchmarkSlashCommandAck measures, through the real socketmode client and
// the fake Slack, the time from an envelope being written to the socket to
// the bot's ack arriving back. It reports p50 and p99 (target p99 < 5 ms).
func BenchmarkSlashCommandAck(b *testing.B) {
	sl, lds := newSlack(b), newLD(b)
	bt := startBot(b, sl, lds, withEnv("LOG_LEVEL", "info"))
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		sent := time.Now()
		id, err := sl.SlashCommand(slackfake.SlashCommand{UserID: userID, ChannelID: channelID, Text: "help"})
		if err != nil {
			b.Fatal(err)
		}
		ack, err := sl.WaitAck(waitCtx(b), id)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, ack.At.Sub(sent))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
	_ = bt
}

// reportPercentiles reports the p50 and p99 of lat in milliseconds.
func reportPercentiles(b *testing.B, lat []time.Duration) {
	b.Helper()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// BenchmarkIdleMemory starts the bot in this process, lets it settle and
// reports the process's resident memory. The test binary also holds the
// fake Slack and fake LaunchDarkly, so this is an upper bound for the bot.
func BenchmarkIdleMemory(b *testing.B) {
	sl, lds := newSlack(b), newLD(b)
	startBot(b, sl, lds, withEnv("LOG_LEVEL", "info"))
	for range b.N {
		time.Sleep(500 * time.Millisecond)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
	if rss, ok := residentMB(); ok {
		b.ReportMetric(rss, "rss-MB")
	}
}

// residentMB reads VmRSS from /proc/self/status (Linux only).
func residentMB() (float64, bool) {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024, err == nil
		}
	}
	return 0, false
}

// BenchmarkIdleMemoryProcess builds the bot, runs it as its own process
// against the fake Slack and fake LaunchDarkly (embedded Redis), waits
// until it is ready and idle, and reports that process's resident memory
// (target < 30 MB).
func BenchmarkIdleMemoryProcess(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "flagbot")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	sl, lds := newSlack(b), newLD(b)
	addr := testport.Free(b)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"SLACK_APP_TOKEN="+slackfake.DefaultAppToken, "SLACK_BOT_TOKEN="+slackfake.DefaultBotToken,
		"SLACK_API_URL="+sl.APIURL(), "LD_BASE_URL="+lds.URL(), "FLAGBOT_HTTP_ADDR="+addr, "LOG_LEVEL=warn")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("the bot never became ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for range b.N {
		time.Sleep(500 * time.Millisecond)
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		b.Skipf("no /proc here: %v", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			b.ReportMetric(kb/1024, "rss-MB")
		}
	}
}
