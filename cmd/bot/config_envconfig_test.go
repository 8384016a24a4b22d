package main

import (
	"bytes"
	"os"
	"reflect"
	"testing"
	"text/tabwriter"

	"github.com/kelseyhightower/envconfig"
)

// TestConfigAgreesWithEnvconfig holds loadConfig and writeUsage to
// envconfig, whose tag conventions Config follows: the binary does not
// link envconfig (see Config), so this test is where it is used.
func TestConfigAgreesWithEnvconfig(t *testing.T) {
	t.Run("usage", func(t *testing.T) {
		var want, got bytes.Buffer
		tw := tabwriter.NewWriter(&want, 0, 4, 2, ' ', 0)
		if err := envconfig.Usagef("", &Config{}, tw, envconfig.DefaultTableFormat); err != nil {
			t.Fatal(err)
		}
		_ = tw.Flush()
		tw = tabwriter.NewWriter(&got, 0, 4, 2, ' ', 0)
		writeUsage(tw)
		_ = tw.Flush()
		if got.String() != want.String() {
			t.Errorf("writeUsage wrote\n%s\nenvconfig writes\n%s", got.String(), want.String())
		}
	})
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"defaults", map[string]string{"SLACK_APP_TOKEN": "xapp-1-A1-1-abc", "SLACK_BOT_TOKEN": "xoxb-1-2-abc"}},
		{"every kind set", map[string]string{
			"SLACK_APP_TOKEN":              "xapp-1-A1-1-abc",
			"SLACK_BOT_TOKEN":              "xoxb-1-2-abc",
			"SLACK_API_URL":                "http://127.0.0.1:9/api/",
			"LD_BASE_URL":                  "http://127.0.0.1:9",
			"REDIS_URL":                    "redis://127.0.0.1:6379/3",
			"FLAGBOT_ENCRYPTION_KEY":       "bG9hZHRlc3QtbG9hZHRlc3QtbG9hZHRlc3QtbG9hZHQ=",
			"FLAGBOT_ENCRYPTION_OLD_KEYS":  "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,bG9hZHRlc3QtbG9hZHRlc3QtbG9hZHRlc3QtbG9hZHQ=",
			"FLAGBOT_ADMINS":               "U024BE7LH,U0G9QF9C6",
			"FLAGBOT_COMMAND_TIMEOUT":      "30s",
			"FLAGBOT_PPROF":                "true",
			"FLAGBOT_CONNECTION_CACHE_TTL": "0s",
			"LOG_FORMAT":                   "text",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range reflect.VisibleFields(reflect.TypeFor[Config]()) {
				name := f.Tag.Get("envconfig")
				t.Setenv(name, tt.env[name]) // restored after the test
				if _, ok := tt.env[name]; !ok {
					os.Unsetenv(name) // envconfig takes a set but empty variable as given
				}
			}
			var want Config
			if err := envconfig.Process("", &want); err != nil {
				t.Fatalf("envconfig.Process: %v", err)
			}
			got, err := loadConfig(os.Getenv)
			if err != nil {
				t.Fatalf("loadConfig: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("loadConfig = %+v\nenvconfig.Process = %+v", got, want)
			}
		})
	}
}
