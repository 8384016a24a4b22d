package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadTestSmoke runs the load benchmark end to end on a small scale: it
// builds the bot, drives it through the fakes and reports every command
// answered without an error.
func TestLoadTestSmoke(t *testing.T) {
	// go build ./cmd/bot runs from the repository root.
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"loadtest", "-n", "60", "-c", "6", "-warmup", "6", "-label", "smoke"}, &stdout, &stderr); err != nil {
		t.Fatalf("loadtest: %v\n%s", err, stderr.String())
	}
	line := stdout.String()
	for _, want := range []string{"smoke n=60 c=6 ", "errors=0", "cpu/cmd=", "peakRSS="} {
		if !strings.Contains(line, want) {
			t.Errorf("result line %q lacks %q", line, want)
		}
	}
}
