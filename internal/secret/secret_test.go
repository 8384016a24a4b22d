package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	const raw = "api-0123456789abcdef"
	s := Secret(raw)
	type holder struct {
		Token Secret
		Name  string
	}
	h := holder{Token: s, Name: "x"}
	var logBuf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logBuf, nil))
	log.Info("msg", "token", s, "holder", h)
	js, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":    fmt.Sprintf("%v", s),
		"%s":    fmt.Sprintf("token=%s", s),
		"%+v":   fmt.Sprintf("%+v", h),
		"%#v":   fmt.Sprintf("%#v", h),
		"error": fmt.Errorf("wrap: %v", s).Error(),
		"errs":  errors.Join(fmt.Errorf("%s", s)).Error(),
		"slog":  logBuf.String(),
		"json":  string(js),
	}
	for name, out := range outputs {
		if strings.Contains(out, raw) {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
		if !strings.Contains(out, redacted) {
			t.Errorf("%s = %q, want it to say %s", name, out, redacted)
		}
	}
	if s.Reveal() != raw {
		t.Errorf("Reveal() = %q, want %q", s.Reveal(), raw)
	}
}

func TestLast4(t *testing.T) {
	tests := []struct{ in, want string }{
		{"api-0123456789abcdef", "cdef"},
		{"short", "****"},
		{"", "****"},
	}
	for _, tt := range tests {
		if got := Secret(tt.in).Last4(); got != tt.want {
			t.Errorf("Last4(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
