package ld_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/secret"
)

// TestClientPrintsWithoutToken: fmt cannot reach Secret's redacting
// methods through an unexported field, so a Client must describe itself.
func TestClientPrintsWithoutToken(t *testing.T) {
	c, err := ld.NewClient("https://app.launchdarkly.com", ld.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c = c.WithToken(secret.Secret(testToken))
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("client", "c", c, "v", *c)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("client", "c", c, "v", *c)
	outs := map[string]string{
		"%v":   fmt.Sprintf("%v", c),
		"%+v":  fmt.Sprintf("%+v", c),
		"%#v":  fmt.Sprintf("%#v", c),
		"%+v*": fmt.Sprintf("%+v", *c),
		"slog": buf.String(),
		"zero": fmt.Sprintf("%+v", ld.Client{}),
	}
	for name, out := range outs {
		if strings.Contains(out, testToken) {
			t.Errorf("%s prints the token: %s", name, out)
		}
	}
	if !strings.Contains(outs["%v"], "app.launchdarkly.com") {
		t.Errorf("%%v = %q, want the base URL", outs["%v"])
	}
}
