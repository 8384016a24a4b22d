package main

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func validEnv() map[string]string {
	return map[string]string{
		"SLACK_APP_TOKEN": "xapp-1-A1-1-abc",
		"SLACK_BOT_TOKEN": "xoxb-1-2-abc",
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	c, err := loadConfig(env(validEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if c.SlackAPIURL != defaultSlackAPIURL || c.LDBaseURL != defaultLDBaseURL || c.HTTPAddr != defaultHTTPAddr ||
		c.CommandTimeout != defaultCommandTimeout || c.LogLevel != "info" || c.LogFormat != "json" || !c.RedisURL.Empty() {
		t.Errorf("defaults not applied: %+v", c)
	}
}

func TestLoadConfigValues(t *testing.T) {
	m := validEnv()
	m["SLACK_API_URL"] = "http://127.0.0.1:9/api"
	m["LD_BASE_URL"] = "https://app.eu.launchdarkly.com/"
	m["REDIS_URL"] = "redis://:pw@127.0.0.1:6379/2"
	m["FLAGBOT_ENCRYPTION_KEY"] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	m["FLAGBOT_ADMINS"] = " U01, W02 ,"
	m["FLAGBOT_COMMAND_TIMEOUT"] = "30s"
	m["LOG_FORMAT"] = "text"
	c, err := loadConfig(env(m))
	if err != nil {
		t.Fatal(err)
	}
	if c.SlackAPIURL != "http://127.0.0.1:9/api/" {
		t.Errorf("SlackAPIURL = %q, want a trailing slash", c.SlackAPIURL)
	}
	if c.LDBaseURL != "https://app.eu.launchdarkly.com" {
		t.Errorf("LDBaseURL = %q", c.LDBaseURL)
	}
	if !reflect.DeepEqual(c.Admins, []string{"U01", "W02"}) {
		t.Errorf("Admins = %q", c.Admins)
	}
	if c.CommandTimeout != 30*time.Second {
		t.Errorf("CommandTimeout = %v", c.CommandTimeout)
	}
}

func TestLoadConfigNamesEveryProblem(t *testing.T) {
	m := map[string]string{
		"SLACK_BOT_TOKEN":         "xoxp-user-token",
		"REDIS_URL":               "http://redis:6379",
		"FLAGBOT_ADMINS":          "alice",
		"FLAGBOT_COMMAND_TIMEOUT": "soon",
		"LOG_LEVEL":               "loud",
		"LOG_FORMAT":              "xml",
		"FLAGBOT_HTTP_ADDR":       "8080",
		"LD_BASE_URL":             "app.launchdarkly.com",
	}
	_, err := loadConfig(env(m))
	if err == nil {
		t.Fatal("loadConfig accepted a bad configuration")
	}
	for _, name := range []string{"SLACK_APP_TOKEN is required", "SLACK_BOT_TOKEN must start with xoxb-", "REDIS_URL must",
		"FLAGBOT_ENCRYPTION_KEY is required", "FLAGBOT_ADMINS", "FLAGBOT_COMMAND_TIMEOUT", "LOG_LEVEL", "LOG_FORMAT",
		"FLAGBOT_HTTP_ADDR", "LD_BASE_URL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not mention %s:\n%v", name, err)
		}
	}
}

func TestConfigErrorsNeverShowSecrets(t *testing.T) {
	m := validEnv()
	m["SLACK_APP_TOKEN"] = "xoxb-secret-in-wrong-place"
	m["FLAGBOT_ENCRYPTION_KEY"] = "not-base64-secret-material"
	m["REDIS_URL"] = "redis://:hunter2@"
	_, err := loadConfig(env(m))
	if err == nil {
		t.Fatal("want an error")
	}
	for _, s := range []string{"xoxb-secret-in-wrong-place", "not-base64-secret-material", "hunter2"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error leaks %q: %v", s, err)
		}
	}
}

func TestLoadConfigOldEncryptionKeys(t *testing.T) {
	const (
		cur  = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
		old1 = "b2xkLWtleS1vbmUtMDEyMzQ1Njc4OWFiY2RlZjAxMjM=" // 32 bytes
		old2 = "b2xkLWtleS10d28tMDEyMzQ1Njc4OWFiY2RlZjAxMjM=" // 32 bytes
		bad  = "c2hvcnQtc2VjcmV0LWtleQ=="                     // 16 bytes
	)
	tests := []struct {
		name     string
		current  string
		old      string
		wantKeys int
		wantErr  string // a substring of the error; empty: no error
	}{
		{name: "none", current: cur},
		{name: "two", current: cur, old: old1 + ", " + old2, wantKeys: 2},
		{name: "stray commas", current: cur, old: "," + old1 + ",,", wantKeys: 1},
		{name: "second is short", current: cur, old: old1 + "," + bad, wantErr: "FLAGBOT_ENCRYPTION_OLD_KEYS: key 2 of 2 must be base64 of exactly 32 bytes"},
		{name: "not base64", current: cur, old: "not base64 at all!", wantErr: "FLAGBOT_ENCRYPTION_OLD_KEYS: key 1 of 1 must be base64"},
		{name: "without a current key", old: old1, wantErr: "FLAGBOT_ENCRYPTION_OLD_KEYS needs FLAGBOT_ENCRYPTION_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validEnv()
			m["FLAGBOT_ENCRYPTION_KEY"] = tt.current
			m["FLAGBOT_ENCRYPTION_OLD_KEYS"] = tt.old
			c, err := loadConfig(env(m))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("loadConfig: %v", err)
				}
				if len(c.OldEncryptionKeys) != tt.wantKeys {
					t.Errorf("OldEncryptionKeys has %d keys, want %d", len(c.OldEncryptionKeys), tt.wantKeys)
				}
				if s := fmt.Sprintf("%v %+v", c, c); strings.Contains(s, old1) || strings.Contains(s, old2) {
					t.Errorf("Config prints an old key: %s", s)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("loadConfig error = %v, want %q", err, tt.wantErr)
			}
			for _, k := range []string{old1, bad, "not base64 at all!"} {
				if strings.Contains(err.Error(), k) {
					t.Errorf("error shows a key: %v", err)
				}
			}
		})
	}
}

// TestLoadConfigModes: SLACK_BOT_TOKEN alone is one workspace; the client
// ID, secret and public URL are many; every missing or conflicting piece is
// named.
func TestLoadConfigModes(t *testing.T) {
	const secretValue = "0123456789abcdef0123456789abcdef"
	multi := map[string]string{
		"SLACK_CLIENT_ID":     "1111111111.2222222222",
		"SLACK_CLIENT_SECRET": secretValue,
		"FLAGBOT_PUBLIC_URL":  "https://flagbot.example.com/",
	}
	tests := []struct {
		name      string
		set       map[string]string
		unset     []string
		wantMulti bool
		wantErr   []string
	}{
		{name: "one workspace", wantMulti: false},
		{name: "many workspaces", set: multi, unset: []string{"SLACK_BOT_TOKEN"}, wantMulti: true},
		{name: "http on localhost", set: map[string]string{"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s", "FLAGBOT_PUBLIC_URL": "http://127.0.0.1:3000"},
			unset: []string{"SLACK_BOT_TOKEN"}, wantMulti: true},
		{name: "both modes", set: multi, wantErr: []string{"SLACK_BOT_TOKEN and SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are both set: choose one mode"}},
		{name: "neither", unset: []string{"SLACK_BOT_TOKEN"}, wantErr: []string{"SLACK_BOT_TOKEN is required", "or, to install Flagbot in many workspaces through OAuth, set SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and FLAGBOT_PUBLIC_URL"}},
		{name: "secret without id", set: map[string]string{"SLACK_CLIENT_SECRET": secretValue, "FLAGBOT_PUBLIC_URL": "https://f.example"}, unset: []string{"SLACK_BOT_TOKEN"},
			wantErr: []string{"SLACK_CLIENT_ID is required with SLACK_CLIENT_SECRET"}},
		{name: "id without secret or URL", set: map[string]string{"SLACK_CLIENT_ID": "1.2"}, unset: []string{"SLACK_BOT_TOKEN"},
			wantErr: []string{"SLACK_CLIENT_SECRET is required with SLACK_CLIENT_ID", "FLAGBOT_PUBLIC_URL is required with SLACK_CLIENT_ID"}},
		{name: "bad client id", set: map[string]string{"SLACK_CLIENT_ID": "A0FLAGBOT", "SLACK_CLIENT_SECRET": "s", "FLAGBOT_PUBLIC_URL": "https://f.example"}, unset: []string{"SLACK_BOT_TOKEN"},
			wantErr: []string{`SLACK_CLIENT_ID must look like 1234567890.1234567890`}},
		{name: "http public URL", set: map[string]string{"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s", "FLAGBOT_PUBLIC_URL": "http://flagbot.example.com"}, unset: []string{"SLACK_BOT_TOKEN"},
			wantErr: []string{"FLAGBOT_PUBLIC_URL must be https://"}},
		{name: "public URL not a URL", set: map[string]string{"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s", "FLAGBOT_PUBLIC_URL": "flagbot.example.com"}, unset: []string{"SLACK_BOT_TOKEN"},
			wantErr: []string{`FLAGBOT_PUBLIC_URL must be an https:// URL such as https://flagbot.example.com, not "flagbot.example.com"`}},
		{name: "install and ops on one port", set: map[string]string{"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s", "FLAGBOT_PUBLIC_URL": "https://f.example", "FLAGBOT_INSTALL_ADDR": ":8080"},
			unset: []string{"SLACK_BOT_TOKEN"}, wantErr: []string{"FLAGBOT_INSTALL_ADDR and FLAGBOT_HTTP_ADDR must use different ports"}},
		{name: "bad install address", set: map[string]string{"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s", "FLAGBOT_PUBLIC_URL": "https://f.example", "FLAGBOT_INSTALL_ADDR": "3000"},
			unset: []string{"SLACK_BOT_TOKEN"}, wantErr: []string{`FLAGBOT_INSTALL_ADDR must be host:port such as :3000, not "3000"`}},
		{name: "public URL in one-workspace mode", set: map[string]string{"FLAGBOT_PUBLIC_URL": "https://f.example"},
			wantErr: []string{"FLAGBOT_PUBLIC_URL is set, but it is only used for OAuth installs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validEnv()
			for k, v := range tt.set {
				m[k] = v
			}
			for _, k := range tt.unset {
				delete(m, k)
			}
			c, err := loadConfig(env(m))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("loadConfig: %v", err)
				}
				if c.MultiWorkspace() != tt.wantMulti {
					t.Errorf("MultiWorkspace() = %v, want %v", c.MultiWorkspace(), tt.wantMulti)
				}
				if tt.wantMulti && (c.InstallAddr != defaultInstallAddr || strings.HasSuffix(c.PublicURL, "/")) {
					t.Errorf("InstallAddr = %q, PublicURL = %q; want the default and no trailing slash", c.InstallAddr, c.PublicURL)
				}
				if s := fmt.Sprintf("%v %+v", c, c); strings.Contains(s, secretValue) {
					t.Errorf("Config prints the client secret")
				}
				return
			}
			if err == nil {
				t.Fatal("loadConfig accepted it")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not say %q:\n%v", want, err)
				}
			}
			if strings.Contains(err.Error(), secretValue) {
				t.Errorf("the error shows the client secret: %v", err)
			}
		})
	}
}

// TestRedisURLForms: every REDIS_URL form the README names passes the
// configuration check; what Open cannot use does not.
func TestRedisURLForms(t *testing.T) {
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"redis://127.0.0.1:6379/0", true},
		{"rediss://:pw@redis.example.com:6380/1", true},
		{"redis-cluster://10.0.0.1:6379,10.0.0.2:6379,10.0.0.3:6379", true},
		{"rediss-cluster://:pw@10.0.0.1,10.0.0.2", true},
		{"redis-sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster/2", true},
		{"http://redis:6379", false},
		{"redis://:hunter2@", false},
		{"redis-cluster://10.0.0.1:6379/0", false},
		{"redis-sentinel://10.0.0.1:26379", false},
	} {
		m := validEnv()
		m["REDIS_URL"] = tt.url
		_, err := loadConfig(env(m))
		if got := err == nil || !strings.Contains(err.Error(), "REDIS_URL must"); got != tt.ok {
			t.Errorf("REDIS_URL=%s: accepted %v, want %v (%v)", tt.url, got, tt.ok, err)
		}
	}
}
