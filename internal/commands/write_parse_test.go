package commands

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// checkParsedWrite is checkParsed for the write commands, pending, history
// and the policy settings of config; it reports whether cmd was one of them.
func checkParsedWrite(t *testing.T, in string, cmd Command) bool {
	t.Helper()
	key := func(what, v string, required bool) {
		t.Helper()
		if (required || v != "") && !validKey(v) {
			t.Fatalf("Parse(%q) = %#v, %s %q is not a valid key", in, cmd, what, v)
		}
	}
	variation := func(v string) {
		t.Helper()
		if strings.TrimSpace(v) == "" || v != strings.TrimSpace(v) {
			t.Fatalf("Parse(%q) = %#v, variation %q is empty or untrimmed", in, cmd, v)
		}
	}
	if wc, ok := cmd.(ChangeCommand); ok {
		o := wc.Options()
		key("project", o.Project, false)
		if o.Reason != strings.Join(strings.Fields(o.Reason), " ") || utf8.RuneCountInString(o.Reason) > maxReasonRunes {
			t.Fatalf("Parse(%q) = %#v, reason not normalised or too long", in, cmd)
		}
		if s := o.Schedule; (s.In != 0 && (s.At != "" || s.In < minScheduleIn || s.In > maxScheduleAhead)) || (s.At != "" && s.At != strings.Join(strings.Fields(s.At), " ")) {
			t.Fatalf("Parse(%q) = %#v, bad schedule", in, cmd)
		}
		// Every write command's text parses back to it, unless a value
		// holds all three quote families (then CommandText drops its
		// double quotes; see quoteArg).
		text := CommandText(wc, Scope{})
		again, err := Parse(text)
		if err != nil || (!reflect.DeepEqual(again, cmd) && !allQuoteFamilies(in)) {
			t.Fatalf("Parse(CommandText(%#v)) = %#v, %v (text %q)", cmd, again, err, text)
		}
	}
	switch c := cmd.(type) {
	case On:
		key("flag", c.Flag, true)
		key("env", c.Env, false)
	case Off:
		key("flag", c.Flag, true)
		key("env", c.Env, false)
	case Serve:
		key("flag", c.Flag, true)
		key("env", c.Env, false)
		variation(c.Variation)
	case OffVariation:
		key("flag", c.Flag, true)
		key("env", c.Env, false)
		variation(c.Variation)
	case Rollout:
		key("flag", c.Flag, true)
		key("env", c.Env, false)
		sum := 0
		for _, w := range c.Weights {
			variation(w.Variation)
			if w.Weight < 0 || w.Weight > rolloutTotal {
				t.Fatalf("Parse(%q) = %#v, weight out of range", in, c)
			}
			sum += w.Weight
		}
		if sum != rolloutTotal || len(c.Weights) == 0 {
			t.Fatalf("Parse(%q) = %#v, weights sum to %d", in, c, sum)
		}
	case Target:
		key("flag", c.Flag, true)
		key("env", c.Env, false)
		variation(c.Variation)
		if len(c.Contexts) == 0 || len(c.Contexts) > maxTargetContexts {
			t.Fatalf("Parse(%q) = %#v, %d contexts", in, c, len(c.Contexts))
		}
		for _, r := range c.Contexts {
			key("context kind", r.Kind, true)
			if strings.TrimSpace(r.Key) == "" || strings.Contains(r.Key, ",") {
				t.Fatalf("Parse(%q) = %#v, bad context key %q", in, c, r.Key)
			}
		}
	case Create:
		key("flag", c.Key, true)
		switch c.FlagKind {
		case FlagKindBoolean:
		case FlagKindString, FlagKindNumber, FlagKindJSON:
			if len(c.Variations) < 2 {
				t.Fatalf("Parse(%q) = %#v, a %s flag without variations", in, c, c.FlagKind)
			}
		default:
			t.Fatalf("Parse(%q) = %#v, unknown kind", in, c)
		}
		if _, err := c.newFlag(); err != nil {
			t.Fatalf("Parse(%q) = %#v, which newFlag refuses: %v", in, c, err)
		}
		for _, tag := range c.Tags {
			key("tag", tag, true)
		}
	case Archive:
		key("flag", c.Flag, true)
	case Restore:
		key("flag", c.Flag, true)
	case Delete:
		key("flag", c.Flag, true)
	case Kill:
		key("flag", c.Flag, true)
		key("env", c.Env, false)
		if c.Reason == "" {
			t.Fatalf("Parse(%q) = %#v, a kill without a reason", in, c)
		}
	case Undo:
		if len(c.ID) < minRefRunes || !validKey(c.ID) || c.Confirmed != "" {
			t.Fatalf("Parse(%q) = %#v, bad request id", in, c)
		}
	case Scheduled, Notify:
	case Pending:
	case History:
		key("flag", c.Flag, false)
	case Config:
		switch c.Setting {
		case SettingRequireReason:
			if c.Value != "on" && c.Value != "off" {
				t.Fatalf("Parse(%q) = %#v, want on or off", in, c)
			}
		case SettingApprovers, SettingBreakglass:
			key("group", c.Value, false)
		case SettingApprovals:
			key("env", c.Env, true)
			if c.Count < 1 || c.Count > maxApprovals {
				t.Fatalf("Parse(%q) = %#v, count out of range", in, c)
			}
		case SettingExemptEnvs:
			if c.Envs == nil && c.Value != "none" {
				t.Fatalf("Parse(%q) = %#v, want none or a list", in, c)
			}
			key("project", c.Project, false)
		case SettingGuests:
			if c.Value != "on" && c.Value != "off" {
				t.Fatalf("Parse(%q) = %#v, want on or off", in, c)
			}
		case SettingShow:
			for _, e := range c.Envs {
				key("env", e, true)
			}
		default:
			return false
		}
	default:
		return false
	}
	return true
}

func TestParseWrite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    Command
		wantMsg string // for errors: a part of the usage message
	}{
		{name: "on", in: "on new-checkout production", want: On{Flag: "new-checkout", Env: "production"}},
		{name: "on default env", in: "on new-checkout", want: On{Flag: "new-checkout"}},
		{name: "on --env and reason", in: `on new-checkout --env staging --reason "QA signed off"`, want: On{Flag: "new-checkout", Env: "staging", WriteOptions: WriteOptions{Reason: "QA signed off"}}},
		{name: "on smart quotes reason", in: "ON new-checkout prod —reason “errors  spiking\tnow”", want: On{Flag: "new-checkout", Env: "prod", WriteOptions: WriteOptions{Reason: "errors spiking now"}}},
		{name: "off with project", in: "off dark-mode staging --project mobile-app", want: Off{Flag: "dark-mode", Env: "staging", WriteOptions: WriteOptions{Project: "mobile-app"}}},
		{name: "on two envs", in: "on new-checkout production --env staging", wantMsg: "two environments"},
		{name: "on no flag", in: "on", wantMsg: "needs a flag key"},
		{name: "on bad flag", in: "on new/checkout", wantMsg: "isn't a valid flag key"},
		{name: "on extra", in: "on a b c", wantMsg: "at most 2"},
		{name: "on empty reason", in: `on a --reason ""`, wantMsg: "needs a value"},
		{name: "on blank reason", in: `on a --reason " "`, wantMsg: "empty"},
		{name: "on long reason", in: "on a --reason " + strings.Repeat("x", maxReasonRunes+1), wantMsg: "keep it under"},
		{name: "on unknown option", in: "on a --share", wantMsg: "has no option"},
		{name: "on in", in: "on a production --in 90s", want: On{Flag: "a", Env: "production", WriteOptions: WriteOptions{Schedule: Schedule{In: 90 * time.Second}}}},
		{name: "on in hours", in: "on a --in=2h --reason r", want: On{Flag: "a", WriteOptions: WriteOptions{Reason: "r", Schedule: Schedule{In: 2 * time.Hour}}}},
		{name: "on in too short", in: "on a --in 9s", wantMsg: "at least 10s"},
		{name: "on in too long", in: "on a --in 721h", wantMsg: "at most 720h"},
		{name: "on in not a duration", in: "on a --in 2 hours", wantMsg: "is a duration"},
		{name: "on at clock", in: "on a production --at 14:30", want: On{Flag: "a", Env: "production", WriteOptions: WriteOptions{Schedule: Schedule{At: "14:30"}}}},
		{name: "on at clock and zone before env", in: "on a --at 14:30 Europe/Berlin production", want: On{Flag: "a", Env: "production", WriteOptions: WriteOptions{Schedule: Schedule{At: "14:30 Europe/Berlin"}}}},
		{name: "on at tomorrow", in: "on a --at tomorrow 09:00 UTC --reason r", want: On{Flag: "a", WriteOptions: WriteOptions{Reason: "r", Schedule: Schedule{At: "tomorrow 09:00 UTC"}}}},
		{name: "on at weekday", in: "off a staging --at Mon 07:15 America/New_York", want: Off{Flag: "a", Env: "staging", WriteOptions: WriteOptions{Schedule: Schedule{At: "Mon 07:15 America/New_York"}}}},
		{name: "on at quoted", in: `on a --at "fri 18:00 Asia/Tokyo"`, want: On{Flag: "a", WriteOptions: WriteOptions{Schedule: Schedule{At: "fri 18:00 Asia/Tokyo"}}}},
		{name: "on at rfc3339", in: "on a --at 2030-01-31T09:00:00+01:00", want: On{Flag: "a", WriteOptions: WriteOptions{Schedule: Schedule{At: "2030-01-31T09:00:00+01:00"}}}},
		{name: "on at bad clock", in: "on a --at 25:00", wantMsg: "24-hour"},
		{name: "on at bad zone", in: "on a --at 09:00 Mars/Olympus", wantMsg: "time zone"},
		{name: "on at words", in: `on a --at "next week"`, wantMsg: "24-hour"},
		{name: "on at too many words", in: `on a --at "tomorrow 09:00 UTC please"`, wantMsg: "can't read"},
		{name: "on at and in", in: "on a --at 09:00 --in 2h", wantMsg: "not both"},
		{name: "archive in", in: "archive old --in 1h", want: Archive{Flag: "old", WriteOptions: WriteOptions{Schedule: Schedule{In: time.Hour}}}},

		{name: "kill", in: `kill new-checkout production --reason "errors spiking"`, want: Kill{Flag: "new-checkout", Env: "production", WriteOptions: WriteOptions{Reason: "errors spiking"}}},
		{name: "kill no reason", in: "kill new-checkout production", wantMsg: "needs a reason"},
		{name: "kill no scheduling", in: `kill f --in 1h --reason r`, wantMsg: "has no option"},
		{name: "undo", in: "undo BGCHA4HP4MQ6", want: Undo{ID: "bgcha4hp4mq6"}},
		{name: "undo reason", in: `undo bgcha4 --reason "errors back"`, want: Undo{ID: "bgcha4", Reason: "errors back"}},
		{name: "undo short", in: "undo bgc", wantMsg: "isn't a request id"},
		{name: "undo none", in: "undo", wantMsg: "needs the request id"},

		{name: "serve by name", in: `serve checkout-layout "two column" staging`, want: Serve{Flag: "checkout-layout", Variation: "two column", Env: "staging"}},
		{name: "serve index", in: "serve banner-color 2 --env production", want: Serve{Flag: "banner-color", Variation: "2", Env: "production"}},
		{name: "serve no variation", in: "serve banner-color", wantMsg: "needs a variation"},
		{name: "offvariation", in: "offvariation new-checkout false production", want: OffVariation{Flag: "new-checkout", Variation: "false", Env: "production"}},

		{name: "rollout", in: "rollout new-checkout true=25 false=75 production", want: Rollout{Flag: "new-checkout", Env: "production", Weights: []RolloutWeight{{"true", 25000}, {"false", 75000}}}},
		{name: "rollout decimals and percent signs", in: "rollout f a=33.333% b=33.333 c=33.334", want: Rollout{Flag: "f", Weights: []RolloutWeight{{"a", 33333}, {"b", 33333}, {"c", 33334}}}},
		{name: "rollout quoted name", in: `rollout f "two column"=50 x=.5 y=49.5 --env staging`, want: Rollout{Flag: "f", Env: "staging", Weights: []RolloutWeight{{"two column", 50000}, {"x", 500}, {"y", 49500}}}},
		{name: "rollout 100", in: "rollout f true=100", want: Rollout{Flag: "f", Weights: []RolloutWeight{{"true", 100000}}}},
		{name: "rollout sum", in: "rollout f true=25 false=70", wantMsg: "add up to 95%"},
		{name: "rollout sum decimals", in: "rollout f true=25.5 false=74.499", wantMsg: "add up to 99.999%"},
		{name: "rollout four decimals", in: "rollout f true=25.0001 false=74.9999", wantMsg: "at most three decimals"},
		{name: "rollout negative", in: "rollout f true=-25 false=125", wantMsg: "percentage from 0 to 100"},
		{name: "rollout over", in: "rollout f true=101", wantMsg: "percentage from 0 to 100"},
		{name: "rollout no pct", in: "rollout f true= false=100", wantMsg: "percentage"},
		{name: "rollout no name", in: "rollout f =50 false=50", wantMsg: "names no variation"},
		{name: "rollout dup", in: "rollout f True=50 true=50", wantMsg: "twice"},
		{name: "rollout none", in: "rollout f production", wantMsg: "needs percentages"},
		{name: "rollout env in the middle", in: "rollout f a=50 production b=50", wantMsg: "can't read"},
		{name: "rollout env and --env", in: "rollout f a=50 b=50 production --env staging", wantMsg: "two environments"},

		{name: "target add", in: "target new-checkout add true alice@example.com,bob@example.com production", want: Target{Flag: "new-checkout", Variation: "true", Env: "production", Contexts: []ContextRef{{"user", "alice@example.com"}, {"user", "bob@example.com"}}}},
		{name: "target remove kinds", in: "target f remove true user:alice,device:ios-7f3a,org:acme,device:ios-7f3a --env staging", want: Target{Flag: "f", Remove: true, Variation: "true", Env: "staging", Contexts: []ContextRef{{"user", "alice"}, {"device", "ios-7f3a"}, {"org", "acme"}}}},
		{name: "target slack mailto", in: "target f add true <mailto:alice@example.com|alice@example.com>", want: Target{Flag: "f", Variation: "true", Contexts: []ContextRef{{"user", "alice@example.com"}}}},
		{name: "target bad action", in: "target f put true alice", wantMsg: "`add` or `remove`"},
		{name: "target too few", in: "target f add true", wantMsg: "needs a flag"},
		{name: "target empty kind", in: "target f add true :alice", wantMsg: "empty"},
		{name: "target empty key", in: "target f add true user:", wantMsg: "no key"},
		{name: "target only commas", in: "target f add true ,,", wantMsg: "at least one context"},

		{name: "create boolean", in: "create new-checkout New checkout --temporary --tags checkout,web", want: Create{Key: "new-checkout", FlagName: "New checkout", FlagKind: FlagKindBoolean, Temporary: true, Tags: []string{"checkout", "web"}}},
		{name: "create string", in: `create checkout-layout "Checkout layout" --kind string --variations control,two-column,compact --reason "layout test"`, want: Create{Key: "checkout-layout", FlagName: "Checkout layout", FlagKind: FlagKindString, Variations: []string{"control", "two-column", "compact"}, WriteOptions: WriteOptions{Reason: "layout test"}}},
		{name: "create json", in: `create cfg --kind json --variations '{"a":1,"b":[1,2]},{"a":2},null'`, want: Create{Key: "cfg", FlagKind: FlagKindJSON, Variations: []string{`{"a":1,"b":[1,2]}`, `{"a":2}`, "null"}}},
		{name: "create number", in: "create max-cart --kind=NUMBER --variations 10,20.5,-3", want: Create{Key: "max-cart", FlagKind: FlagKindNumber, Variations: []string{"10", "20.5", "-3"}}},
		{name: "create temporary false", in: "create f --temporary=false", want: Create{Key: "f", FlagKind: FlagKindBoolean}},
		{name: "create bad number", in: "create f --kind number --variations 1,x", wantMsg: "isn't a number"},
		{name: "create bad json", in: "create f --kind json --variations {a},1", wantMsg: "isn't valid JSON"},
		{name: "create bad boolean", in: "create f --variations yes,no", wantMsg: "`true` and `false`"},
		{name: "create string without values", in: "create f --kind string", wantMsg: "--variations"},
		{name: "create one value", in: "create f --kind string --variations a", wantMsg: "at least two"},
		{name: "create dup value", in: "create f --kind string --variations a,a", wantMsg: "twice"},
		{name: "create empty value", in: "create f --kind string --variations a,,b", wantMsg: "empty variation"},
		{name: "create bad kind", in: "create f --kind list", wantMsg: "`--kind` is"},
		{name: "create bad tag", in: "create f --tags a,b/c", wantMsg: "valid tag"},
		{name: "create no key", in: "create", wantMsg: "needs the new flag's key"},

		{name: "archive", in: `archive old-banner --reason "launched in March"`, want: Archive{Flag: "old-banner", WriteOptions: WriteOptions{Reason: "launched in March"}}},
		{name: "restore", in: "restore old-banner --project web", want: Restore{Flag: "old-banner", WriteOptions: WriteOptions{Project: "web"}}},
		{name: "delete", in: "delete old-banner", want: Delete{Flag: "old-banner"}},
		{name: "delete env", in: "delete old-banner production", wantMsg: "at most 1"},
		{name: "archive --env", in: "archive old-banner --env production", wantMsg: "has no option"},
		{name: "pending", in: "pending", want: Pending{}},
		{name: "pending extra", in: "pending all", wantMsg: "takes no arguments"},
		{name: "history", in: "history", want: History{}},
		{name: "history flag", in: "history new-checkout", want: History{Flag: "new-checkout"}},

		{name: "require reason", in: "config require-reason ON", want: Config{Setting: SettingRequireReason, Value: "on"}},
		{name: "require reason off", in: "config require-reason no", want: Config{Setting: SettingRequireReason, Value: "off"}},
		{name: "require reason bad", in: "config require-reason maybe", wantMsg: "`on` or `off`"},
		{name: "approvers escaped group", in: "config approvers <!subteam^S0123ABCD|@release-managers>", want: Config{Setting: SettingApprovers, Value: "S0123ABCD"}},
		{name: "approvers escaped group no label", in: "config approvers <!subteam^S0123ABCD>", want: Config{Setting: SettingApprovers, Value: "S0123ABCD"}},
		{name: "approvers none", in: "config approvers none", want: Config{Setting: SettingApprovers}},
		{name: "approvers anyone", in: "config approvers Anyone", want: Config{Setting: SettingApprovers}},
		{name: "approvers plain handle", in: "config approvers @release-managers", wantMsg: "pick the group"},
		{name: "approvers missing", in: "config approvers", wantMsg: "user group"},
		{name: "approvals", in: "config approvals production 2", want: Config{Setting: SettingApprovals, Env: "production", Count: 2}},
		{name: "approvals 6", in: "config approvals production 6", wantMsg: "1 to 5"},
		{name: "approvals 0", in: "config approvals production 0", wantMsg: "1 to 5"},
		{name: "approvals missing", in: "config approvals production", wantMsg: "number from 1 to 5"},
		{name: "exempt envs", in: "config exempt-envs development,staging", want: Config{Setting: SettingExemptEnvs, Value: "development,staging", Envs: []string{"development", "staging"}}},
		{name: "exempt envs spaced", in: "config exempt-envs development, staging DEVELOPMENT", want: Config{Setting: SettingExemptEnvs, Value: "development,staging", Envs: []string{"development", "staging"}}},
		{name: "exempt envs project", in: "config exempt-envs staging --project mobile", want: Config{Setting: SettingExemptEnvs, Value: "staging", Envs: []string{"staging"}, Project: "mobile"}},
		{name: "exempt envs none", in: "config exempt-envs NONE", want: Config{Setting: SettingExemptEnvs, Value: "none"}},
		{name: "exempt envs none and more", in: "config exempt-envs none,staging", wantMsg: "stands alone"},
		{name: "exempt envs empty", in: "config exempt-envs ,", wantMsg: "at least one"},
		{name: "project without exempt envs", in: "config approvals production 2 --project web", wantMsg: "goes with `exempt-envs` only"},
		{name: "approval envs is gone", in: "config approval-envs production", wantMsg: "every environment now needs approval unless an admin exempts it"},
		{name: "guests on", in: "config guests on", want: Config{Setting: SettingGuests, Value: "on"}},
		{name: "guests bad", in: "config guests maybe", wantMsg: "`on` or `off`"},
		{name: "show all", in: "config", want: Config{}},
		{name: "config unknown", in: "config colour blue", wantMsg: "exempt-envs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.in)
			if tt.want != nil {
				if err != nil {
					t.Fatalf("Parse(%q) error = %v", tt.in, err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("Parse(%q) = %#v, want %#v", tt.in, got, tt.want)
				}
				checkParsed(t, tt.in, got)
				return
			}
			ue := wantUsageError(t, tt.in, err)
			if !strings.Contains(ue.Msg.String(), tt.wantMsg) {
				t.Errorf("Parse(%q) usage msg = %q, want it to contain %q", tt.in, ue.Msg.String(), tt.wantMsg)
			}
			if ue.Help.Name == "" {
				t.Errorf("Parse(%q) usage error has no help entry", tt.in)
			}
		})
	}
}

func TestPercent(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"25", 25000, true}, {"0", 0, true}, {"100", 100000, true}, {"33.333", 33333, true},
		{"0.001", 1, true}, {".5", 500, true}, {"5.", 5000, true}, {"12.5%", 12500, true},
		{"100.001", 0, false}, {"1.0001", 0, false}, {"-1", 0, false}, {"", 0, false}, {".", 0, false},
		{"1e2", 0, false}, {"0x10", 0, false}, {"1000", 0, false}, {"+5", 0, false},
	} {
		got, ok := parsePercent(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parsePercent(%q) = %d, %v, want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
		if ok {
			if back, _ := parsePercent(formatPercent(got)); back != got {
				t.Errorf("parsePercent(formatPercent(%d)) = %d", got, back)
			}
		}
	}
	if got := formatPercent(33330); got != "33.33" {
		t.Errorf("formatPercent(33330) = %q", got)
	}
}

// FuzzParseWrite seeds the parser with write commands; every command it
// accepts must be valid and round-trip through CommandText.
func FuzzParseWrite(f *testing.F) {
	for _, s := range []string{
		"on new-checkout production --reason \"a 'b' `c`\"",
		"rollout f a=33.333 b=33.333 c=33.334 production",
		`serve f "two column" --env staging`,
		"target f add true user:alice,device:ios production",
		`create cfg --kind json --variations '{"a":[1,2]},{"b":"c,d"}'`,
		"create f Name with words --tags a,b --temporary",
		"config approvers <!subteam^S1|@g>",
		"config approval-envs a,b, c",
		"history f",
		"serve f -- -1",
		"target f add \"-x\" ,a,",
		"on f production --at tomorrow 09:00 Europe/Berlin --reason r",
		"off f --in 90s",
		`archive f --at "mon 07:15 UTC"`,
		"on f --at 2030-01-31T09:00:00+01:00 staging",
		`kill f production --reason "x y"`,
		"undo bgcha4hp --reason z",
		"config breakglass <!subteam^S1|@g>",
		"notify off",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		cmd, err := Parse(in)
		if err != nil {
			wantUsageError(t, in, err)
			return
		}
		checkParsed(t, in, cmd)
	})
}

func allQuoteFamilies(s string) bool {
	var seen [4]bool
	for _, r := range s {
		seen[quoteFamily(r)] = true
	}
	return seen[1] && seen[2] && seen[3]
}
