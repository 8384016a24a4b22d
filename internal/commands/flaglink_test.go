package commands

import "testing"

func TestParseFlagLink(t *testing.T) {
	t.Parallel()
	const base = "https://app.launchdarkly.com"
	tests := []struct {
		raw  string
		want FlagLink
		ok   bool
	}{
		{"https://app.launchdarkly.com/projects/web/flags/new-checkout", FlagLink{Project: "web", Flag: "new-checkout"}, true},
		{"https://app.launchdarkly.com/projects/web/flags/new-checkout/targeting?env=production&amp;selected-env=production", FlagLink{Project: "web", Env: "production", Flag: "new-checkout"}, true},
		{"https://APP.launchdarkly.com/projects/web/flags/new-checkout?selected-env=staging", FlagLink{Project: "web", Env: "staging", Flag: "new-checkout"}, true},
		{"https://app.launchdarkly.com/web/production/features/new-checkout", FlagLink{Project: "web", Env: "production", Flag: "new-checkout"}, true},
		{"https://app.launchdarkly.com/web/production/features/new-checkout/targeting", FlagLink{Project: "web", Env: "production", Flag: "new-checkout"}, true},
		{"https://app.launchdarkly.com/web/production/features/new%2Dcheckout", FlagLink{Project: "web", Env: "production", Flag: "new-checkout"}, true},
		{"http://app.launchdarkly.com/web/production/features/new-checkout", FlagLink{}, false},
		{"https://app.launchdarkly.com.evil.example/web/production/features/x", FlagLink{}, false},
		{"https://evil.example/web/production/features/x", FlagLink{}, false},
		{"https://user@app.launchdarkly.com/web/production/features/x", FlagLink{}, false},
		{"https://app.launchdarkly.com/projects/web/flags", FlagLink{}, false},
		{"https://app.launchdarkly.com/web/production/segments/beta", FlagLink{}, false},
		{"https://app.launchdarkly.com/web/production/features/a%2Fb", FlagLink{}, false},
		{"https://app.launchdarkly.com/projects/web/flags/x?env=bad%20env", FlagLink{}, false},
		{"https://app.launchdarkly.com/settings/tokens", FlagLink{}, false},
		{"not a url", FlagLink{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseFlagLink(base, tt.raw)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseFlagLink(%q) = %+v, %v; want %+v, %v", tt.raw, got, ok, tt.want, tt.ok)
		}
	}
	if got, ok := ParseFlagLink("http://127.0.0.1:4567/", "http://127.0.0.1:4567/web/qa/features/x"); !ok || got.Env != "qa" {
		t.Errorf("a loopback LaunchDarkly with a port: %+v, %v", got, ok)
	}
	if _, ok := ParseFlagLink("http://127.0.0.1:4567", "http://127.0.0.1:9999/web/qa/features/x"); ok {
		t.Error("another port was taken for the configured LaunchDarkly")
	}
}

func FuzzParseFlagLink(f *testing.F) {
	f.Add("https://app.launchdarkly.com/projects/web/flags/new-checkout?env=production")
	f.Add("https://app.launchdarkly.com/web/production/features/new-checkout/targeting")
	f.Add("https://app.launchdarkly.com/%zz/x/features/y")
	f.Fuzz(func(t *testing.T, raw string) {
		l, ok := ParseFlagLink("https://app.launchdarkly.com", raw)
		if !ok {
			return
		}
		if !validKey(l.Project) || !validKey(l.Flag) || (l.Env != "" && !validKey(l.Env)) {
			t.Errorf("ParseFlagLink(%q) = %+v: not keys", raw, l)
		}
	})
}
