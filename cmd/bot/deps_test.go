package main

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// modulePath is this module's path, the prefix of its packages.
const modulePath = "github.com/flagbot/flagbot"

// goList runs `go list args...` here and returns its output lines. go test
// puts its own go command first on PATH, so this is the toolchain that
// builds the bot.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	bin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command on PATH: %v", err)
	}
	out, err := exec.CommandContext(t.Context(), bin, append([]string{"list"}, args...)...).Output()
	if err != nil {
		var stderr string
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// TestBinaryLinksNoTestCode: the bot must not link the testing package, nor
// a test helper package (this module's …test packages, httptest), which
// would mean test code, and test-only behaviour, in production.
func TestBinaryLinksNoTestCode(t *testing.T) {
	t.Parallel()
	deps := goList(t, "-deps", ".")
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed only %q", deps)
	}
	for _, p := range deps {
		last := p[strings.LastIndex(p, "/")+1:]
		if p == "testing" || strings.HasPrefix(p, "testing/") || p == "net/http/httptest" ||
			(strings.HasPrefix(p, modulePath+"/") && strings.HasSuffix(last, "test")) {
			t.Errorf("cmd/bot links %s: a non-test file imports test code (see go list -deps ./cmd/bot)", p)
		}
	}
}

// TestRedisLibrariesHaveOneHome: only internal/redisstore imports go-redis
// and miniredis, in its code and in its tests.
func TestRedisLibrariesHaveOneHome(t *testing.T) {
	t.Parallel()
	lines := goList(t, "-f", `{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`, modulePath+"/...")
	for _, line := range lines {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] == modulePath+"/internal/redisstore" {
			continue
		}
		for _, lib := range []string{"github.com/redis/go-redis/v9", "github.com/alicebob/miniredis/v2"} {
			if slices.ContainsFunc(fields[1:], func(imp string) bool { return imp == lib || strings.HasPrefix(imp, lib+"/") }) {
				t.Errorf("%s imports %s; only internal/redisstore may", fields[0], lib)
			}
		}
	}
}
