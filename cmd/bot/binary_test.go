package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryLeavesOutHeavyPackages keeps out of the bot's binary the
// packages that cost it memory (issue 12: most of the bot's resident
// memory is pages of its executable). text/template, which html/template,
// net/http/pprof and envconfig's usage printer bring, calls methods by
// name through reflect, so the linker keeps every exported method of every
// type: 9 MB of a 28 MB binary. Prometheus's client (and protobuf, which
// it brings) was 2.3 MB more; internal/metrics writes the text format
// itself.
func TestBinaryLeavesOutHeavyPackages(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", "github.com/flagbot/flagbot/cmd/bot").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	banned := []string{"text/template", "html/template", "net/http/pprof", "github.com/kelseyhightower/envconfig",
		"github.com/prometheus", "google.golang.org/protobuf"}
	for _, pkg := range strings.Fields(string(out)) {
		for _, b := range banned {
			if pkg == b || strings.HasPrefix(pkg, b+"/") {
				t.Errorf("cmd/bot depends on %s", pkg)
			}
		}
	}
}
