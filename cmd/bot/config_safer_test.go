package main

import (
	"strings"
	"testing"
	"time"
)

// TestSignoffAndGraceConfig: FLAGBOT_SIGNOFF_TTL and FLAGBOT_SCHEDULE_GRACE
// default to 24h and 1h and are range-checked by name.
func TestSignoffAndGraceConfig(t *testing.T) {
	c, err := loadConfig(env(validEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if c.SignoffTTL != 24*time.Hour || c.ScheduleGrace != time.Hour {
		t.Errorf("defaults: sign-off %v, grace %v; want 24h and 1h", c.SignoffTTL, c.ScheduleGrace)
	}
	m := validEnv()
	m["FLAGBOT_SIGNOFF_TTL"], m["FLAGBOT_SCHEDULE_GRACE"] = "8h", "15m"
	if c, err = loadConfig(env(m)); err != nil || c.SignoffTTL != 8*time.Hour || c.ScheduleGrace != 15*time.Minute {
		t.Errorf("values: %v, %v, %v", c.SignoffTTL, c.ScheduleGrace, err)
	}
	for name, bad := range map[string]string{"FLAGBOT_SIGNOFF_TTL": "10s", "FLAGBOT_SCHEDULE_GRACE": "48h"} {
		m := validEnv()
		m[name] = bad
		if _, err := loadConfig(env(m)); err == nil || !strings.Contains(err.Error(), name+" must be between") {
			t.Errorf("%s=%s: %v", name, bad, err)
		}
	}
}
