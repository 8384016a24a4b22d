package slackapp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const baseURL = "https://app.launchdarkly.com"

// A fixed instant keeps the golden files stable.
var (
	when = time.Date(2026, 11, 20, 14, 30, 0, 0, time.UTC)
)

func intp(i int) *int                  { return &i }
func rawJSON(s string) json.RawMessage { return json.RawMessage(s) }
func ldMember() *commands.Member {
	return &commands.Member{ID: "m1", Email: "ana@example.com", FirstName: "Ana", LastName: "Silva"}
}

// marshal renders v as indented JSON without HTML escaping, the form kept
// in the golden files.
func marshal(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return buf.Bytes()
}

// golden compares v's JSON with testdata/golden/<name>.json, or rewrites the
// file when -update is set.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got := marshal(t, v)
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			g, w := "<eof>", "<eof>"
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs from golden file at line %d:\n got: %s\nwant: %s\n(run go test -update if the change is intended)", name, i+1, g, w)
			}
		}
	}
}

// checkMessage asserts the Block Kit limits on a rendered message.
func checkMessage(t *testing.T, m Message) {
	t.Helper()
	if err := CheckLimits(m.Blocks); err != nil {
		t.Errorf("CheckLimits: %v", err)
	}
	if n := runeLen(m.Text); n == 0 || n > MaxMessageText {
		t.Errorf("Text has %d characters, want 1..%d", n, MaxMessageText)
	}
	if len(m.Blocks) == 0 {
		t.Error("no blocks")
	}
}

func helpEntries() []commands.HelpEntry {
	return []commands.HelpEntry{
		{Name: "help", Usage: "help [command]", Summary: "Show this list, or one command's details."},
		{Name: "connect", Usage: "connect", Summary: "Connect this workspace to LaunchDarkly.", Admin: true},
		{Name: "status", Usage: "status", Summary: "Show how this workspace is connected."},
		{Name: "list", Usage: "list [words] [tag:<tag>] [env:<env>] [archived]", Summary: "List flags.", Examples: []string{"list checkout", "list tag:web env:staging"}},
		{Name: "show", Usage: "show <flag> [env]", Summary: "Show a flag's targeting in one environment.", Examples: []string{"show new-checkout production", "show new-checkout"}},
		{Name: "audit", Usage: "audit [flag] [env] [since:24h]", Summary: "Show recent changes."},
	}
}

func connInfo(role string) commands.ConnectionInfo {
	return commands.ConnectionInfo{
		TokenName:      "Flagbot (Slack)",
		Role:           role,
		Last4:          "abcd",
		DefaultProject: "web",
		DefaultEnv:     "production",
		ConnectedBy:    "U012AB3CD",
		ConnectedAt:    when,
	}
}

func listFlag(i int, env string) commands.Flag {
	key := fmt.Sprintf("flag-%04d", i)
	return commands.Flag{
		Key:  key,
		Name: fmt.Sprintf("Flag number %d for the checkout experiment", i),
		Kind: "boolean",
		Tags: []string{"checkout", "web"},
		Environments: map[string]commands.FlagEnvironment{
			env: {On: i%3 == 0, SitePath: "/web/" + env + "/features/" + key},
		},
	}
}

func flagList1000() commands.FlagListResult {
	flags := make([]commands.Flag, 1000)
	for i := range flags {
		flags[i] = listFlag(i, "production")
	}
	return commands.FlagListResult{
		Query:      commands.List{Project: "web", Env: "production", Words: "checkout"},
		Flags:      flags,
		Total:      2500,
		NextOffset: 1000,
		BaseURL:    baseURL,
	}
}

func showFixture() commands.FlagResult {
	return commands.FlagResult{
		Project: "web",
		Env:     "production",
		BaseURL: baseURL,
		Flag: commands.Flag{
			Key:          "new-checkout",
			Name:         "New checkout",
			Description:  "Routes checkout traffic to the new flow. Ping <!channel> & <@U999> if it breaks.",
			Kind:         "boolean",
			Version:      17,
			Temporary:    true,
			Tags:         []string{"checkout", "web"},
			CreationDate: when.Add(-30 * 24 * time.Hour),
			Maintainer:   ldMember(),
			Variations: []commands.Variation{
				{ID: "v0", Value: rawJSON(`true`), Name: "Enabled"},
				{ID: "v1", Value: rawJSON(`false`), Name: "Disabled"},
			},
			Defaults: &commands.Defaults{OnVariation: 0, OffVariation: 1},
			Environments: map[string]commands.FlagEnvironment{
				"production": {
					On:              true,
					Version:         42,
					LastModified:    when,
					SitePath:        "/web/production/features/new-checkout",
					EnvironmentName: "Production",
					OffVariation:    intp(1),
					Fallthrough: &commands.VariationOrRollout{Rollout: &commands.PercentRollout{
						Variations:  []commands.WeightedVariation{{Variation: 0, Weight: 12345}, {Variation: 1, Weight: 87655}},
						BucketBy:    "key",
						ContextKind: "user",
					}},
					Targets:        []commands.TargetList{{Values: []string{"alice", "bob"}, Variation: 0}},
					ContextTargets: []commands.TargetList{{Values: []string{"acme"}, Variation: 0, ContextKind: "org"}, {Values: []string{}, Variation: 0, ContextKind: "user"}},
					Rules: []commands.Rule{
						{ID: "r1", Description: "Beta testers", Variation: intp(0)},
						{ID: "r2", Rollout: &commands.PercentRollout{Variations: []commands.WeightedVariation{{Variation: 0, Weight: 50000}, {Variation: 1, Weight: 50000}}}},
					},
					Prerequisites: []commands.Prerequisite{{Key: "checkout-api", Variation: 0}},
				},
				"staging":     {On: true, EnvironmentName: "Staging", SitePath: "/web/staging/features/new-checkout"},
				"development": {On: false, EnvironmentName: "Development"},
			},
		},
	}
}

// showBigFixture is a flag built to break every limit: a 5 000-character
// description, 300 targets, 30 variations with long values, 15 rules, 25
// prerequisites, 40 environments and 12 tags.
func showBigFixture() commands.FlagResult {
	r := showFixture()
	f := &r.Flag
	f.Name = strings.Repeat("Very long flag name ", 10)
	f.Description = strings.Repeat("This flag does a great many things, éèà <b>bold</b> & more. ", 85)
	f.Kind = "multivariate"
	f.Tags = nil
	for i := range 12 {
		f.Tags = append(f.Tags, fmt.Sprintf("tag-%d", i))
	}
	f.Variations = nil
	for i := range 30 {
		f.Variations = append(f.Variations, commands.Variation{
			Value: rawJSON(fmt.Sprintf(`{"variant":%d,"payload":"%s"}`, i, strings.Repeat("x", 200))),
			Name:  fmt.Sprintf("Variant %d", i),
		})
	}
	prod := f.Environments["production"]
	targets := make([]string, 300)
	for i := range targets {
		targets[i] = "user-" + strconv.Itoa(i)
	}
	prod.Targets = []commands.TargetList{{Values: targets[:200], Variation: 0}}
	prod.ContextTargets = []commands.TargetList{{Values: targets[200:], Variation: 1, ContextKind: "device"}}
	prod.Rules = nil
	for i := range 15 {
		prod.Rules = append(prod.Rules, commands.Rule{Description: fmt.Sprintf("Rule for cohort %d with a long description", i), Variation: intp(i % 30)})
	}
	prod.Prerequisites = nil
	for i := range 25 {
		prod.Prerequisites = append(prod.Prerequisites, commands.Prerequisite{Key: fmt.Sprintf("prereq-%d", i), Variation: 1})
	}
	f.Environments = map[string]commands.FlagEnvironment{"production": prod}
	for i := range 39 {
		k := fmt.Sprintf("env-%02d", i)
		f.Environments[k] = commands.FlagEnvironment{On: i%2 == 0, EnvironmentName: "Environment " + strconv.Itoa(i)}
	}
	return r
}

func auditFixture() commands.AuditResult {
	return commands.AuditResult{
		Query:   commands.Audit{Project: "web", Flag: "new-checkout", Env: "production", Since: 24 * time.Hour, Limit: 10},
		Since:   when.Add(-24 * time.Hour),
		BaseURL: baseURL,
		Entries: []commands.AuditEntry{
			{
				ID:      "a1",
				Date:    when,
				Kind:    "flag",
				Title:   "[Ana Silva](mailto:ana@example.com) turned on the flag [New checkout](/web/production/features/new-checkout) in `Production`",
				Comment: "Rollout approved by @bob\nSee <https://evil.example|this>",
				Member:  ldMember(),
			},
			{
				ID:          "a2",
				Date:        when.Add(-time.Hour),
				Kind:        "flag",
				Title:       "Flagbot updated the flag [New checkout](https://app.launchdarkly.com/web/production/features/new-checkout)",
				Description: "- Changed the default rule to a **percentage rollout**\n- [click me](javascript:alert(1))",
				Comment:     "Requested by <@U1> and approved by <@U2> via Slack",
				Token:       &commands.TokenSummary{Name: "Flagbot (Slack)", Ending: "abcd"},
			},
			{
				ID:        "a3",
				Date:      when.Add(-2 * time.Hour),
				Kind:      "segment",
				TitleVerb: "deleted the segment",
				Name:      "beta-testers",
				Member:    &commands.Member{Email: "ops@example.com"},
			},
		},
	}
}

type unknownResult struct{ commands.HelpResult }

// renderCase is one golden rendering: testdata/golden/<name>.json.
type renderCase struct {
	name string
	in   commands.Result
}

func goldenResults() []renderCase {
	segment := commands.SegmentRecord{
		Key:              "beta-testers",
		Name:             "Beta testers",
		Description:      "People who asked for early access",
		Tags:             []string{"beta"},
		LastModified:     when,
		Included:         []string{"alice", "bob"},
		Excluded:         []string{"mallory"},
		IncludedContexts: []commands.SegmentTarget{{ContextKind: "org", Values: []string{"acme", "globex"}}},
		Rules:            []json.RawMessage{rawJSON(`{"clauses":[]}`)},
		Flags:            []commands.FlagRef{{Key: "new-checkout", Name: "New checkout"}, {Key: "dark-mode"}},
	}
	alice := commands.ContextRecord{
		Context:       rawJSON(`{"kind":"user","key":"alice","name":"Alice Liddell","email":"alice@example.com","plan":"pro","beta":true,"_meta":{"privateAttributes":["email"]}}`),
		LastSeen:      "2026-11-20T14:30:00Z",
		ApplicationID: "web-app",
	}
	multi := commands.ContextRecord{
		Context:  rawJSON(`{"kind":"multi","user":{"key":"bob","name":"Bob"},"org":{"key":"acme","name":"Acme & Co"}}`),
		LastSeen: "not a date",
	}
	return []renderCase{
		{"help", commands.HelpResult{Entries: helpEntries()}},
		{"help_topic", commands.HelpResult{Topic: "show", Entries: helpEntries()[4:5]}},
		{"help_topic_admin", commands.HelpResult{Topic: "connect", Entries: helpEntries()[1:2]}},
		{"help_topic_unknown", commands.HelpResult{Topic: "frobnicate"}},
		{"connect_modal_result", commands.ConnectModal{DefaultProject: "web"}},
		{"connect_writer", commands.ConnectResult{Info: connInfo(commands.RoleWriter)}},
		{"connect_reader_no_defaults", commands.ConnectResult{Info: commands.ConnectionInfo{TokenName: "read only", Role: commands.RoleReader, Last4: "wxyz"}}},
		{"connect_inferred", commands.ConnectResult{Info: connInfo(commands.RoleWriter), Defaults: commands.DefaultsChoice{
			Project: "web", ProjectReason: commands.ReasonFirstByName, Env: "production", EnvReason: commands.ReasonProduction, Projects: 3}}},
		{"connect_inferred_no_env", commands.ConnectResult{Info: commands.ConnectionInfo{TokenName: "flagbot", Role: commands.RoleWriter, Last4: "abcd", DefaultProject: "default"},
			Defaults: commands.DefaultsChoice{Project: "default", ProjectReason: commands.ReasonNamedDefault, Projects: 2}}},
		{"notice_first_use", commands.Noticed{Result: commands.StatusResult{Connected: true, Info: connInfo(commands.RoleWriter), BaseURL: baseURL},
			Notice: commands.Notation("This workspace had no default project, so I chose one. ").Append(commands.DefaultsChoice{
				Project: "web", ProjectReason: commands.ReasonOnlyProject, Env: "production", EnvReason: commands.ReasonProduction, Projects: 1}.Text()...)}},
		{"status_connected", commands.StatusResult{Connected: true, Info: connInfo(commands.RoleWriter), BaseURL: baseURL}},
		{"status_reader", commands.StatusResult{Connected: true, Info: connInfo(commands.RoleReader), BaseURL: baseURL}},
		{"status_not_connected", commands.StatusResult{}},
		{"disconnect", commands.DisconnectResult{Info: connInfo(commands.RoleAdmin)}},
		{"disconnect_unreadable", commands.DisconnectResult{Unreadable: true}},
		{"config_project", commands.ConfigResult{Setting: commands.SettingProject, Value: "mobile"}},
		{"config_env", commands.ConfigResult{Setting: commands.SettingEnv, Value: "staging"}},
		{"config_require_reason", commands.ConfigResult{Setting: commands.SettingRequireReason, Value: "on", Policy: commands.Policy{RequireReason: true}}},
		{"config_approvers", commands.ConfigResult{Setting: commands.SettingApprovers, Value: "S0REL", Policy: commands.Policy{ApproverGroup: "S0REL"}}},
		{"config_approvers_none", commands.ConfigResult{Setting: commands.SettingApprovers}},
		{"config_approvals", commands.ConfigResult{Setting: commands.SettingApprovals, Env: "production", Count: 2}},
		{"config_exempt_envs", commands.ConfigResult{Setting: commands.SettingExemptEnvs, Project: "web", Value: "development,staging", Envs: []string{"development", "staging"}}},
		{"config_exempt_envs_none", commands.ConfigResult{Setting: commands.SettingExemptEnvs, Project: "mobile", Value: "none"}},
		{"config_guests_on", commands.ConfigResult{Setting: commands.SettingGuests, Value: "on", Policy: commands.Policy{GuestsMayRequest: true}}},
		{"config_show", commands.ConfigResult{Setting: commands.SettingShow, Connection: connInfo(commands.RoleWriter), Policy: commands.Policy{
			RequireReason: true, ApproverGroup: "S0REL", Approvals: map[string]int{"production": 2},
			ExemptEnvs: map[string][]string{"web": {"development", "staging"}, "mobile": {"dev"}}, LegacyApprovalEnvs: []string{"production"},
		}}},
		{"config_show_defaults", commands.ConfigResult{Setting: commands.SettingShow}},
		{"projects", commands.ProjectsResult{
			Projects:       []commands.Project{{Key: "web", Name: "Web", Tags: []string{"frontend"}}, {Key: "mobile", Name: "Mobile apps"}, {Key: "default"}},
			DefaultProject: "web",
			BaseURL:        baseURL,
		}},
		{"projects_empty", commands.ProjectsResult{}},
		{"envs", commands.EnvsResult{
			Project: "web",
			Envs: []commands.Environment{
				{Key: "production", Name: "Production", Critical: true, ApprovalRequired: true},
				{Key: "staging", Name: "Staging"},
				{Key: "development", Name: "Development"},
			},
			DefaultEnv: "production",
		}},
		{"list", commands.FlagListResult{
			Query: commands.List{Project: "web", Env: "production", Words: "checkout", Tag: "web", Output: commands.Output{Share: true}},
			Flags: []commands.Flag{
				listFlag(0, "production"),
				{Key: "dark-mode", Name: "Dark mode", Deprecated: true, Environments: map[string]commands.FlagEnvironment{"production": {On: false}}},
				{Key: "no-env", Archived: true},
			},
			Total:      57,
			NextOffset: 3,
			BaseURL:    baseURL,
		}},
		{"list_empty", commands.FlagListResult{Query: commands.List{Project: "web", Env: "production", Tag: "nothing"}}},
		{"list_1000", flagList1000()},
		{"show", showFixture()},
		{"show_big", showBigFixture()},
		{"show_env_missing", commands.FlagResult{Project: "web", Env: "qa", Flag: commands.Flag{Key: "bare"}}},
		{"segments", commands.SegmentsResult{Project: "web", Env: "production", Segments: []commands.SegmentRecord{
			segment,
			{Key: "whales", Unbounded: true},
		}}},
		{"segment", commands.SegmentResult{Project: "web", Env: "production", Segment: segment}},
		{"contexts", commands.ContextsResult{Project: "web", Env: "production", Query: commands.Contexts{Words: "ali", Kind: "user"}, Contexts: []commands.ContextRecord{alice, multi, {Context: rawJSON(`"garbage"`)}}}},
		{"contexts_empty", commands.ContextsResult{Project: "web", Env: "production", Query: commands.Contexts{Words: "nobody"}}},
		{"context", commands.ContextResult{Project: "web", Env: "production", Kind: "user", Key: "alice", Records: []commands.ContextRecord{alice}}},
		{"context_multi", commands.ContextResult{Project: "web", Env: "production", Kind: "org", Key: "acme", Records: []commands.ContextRecord{multi}}},
		{"audit", auditFixture()},
		{"audit_empty", commands.AuditResult{Query: commands.Audit{Flag: "new-checkout"}, Since: when}},
		{"request", commands.RequestModal{Project: "web"}},
		{"unknown", unknownResult{}},
	}
}

func TestRenderResultGolden(t *testing.T) {
	t.Parallel()
	for _, tt := range goldenResults() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := renderResult(tt.in)
			checkMessage(t, m)
			golden(t, tt.name, m)
		})
	}
}

func errorCases() []struct {
	name string
	err  error
} {
	showHelp := commands.HelpEntry{Name: "show", Usage: "show <flag> [env]", Summary: "Show a flag.", Examples: []string{"show new-checkout production"}}
	return []struct {
		name string
		err  error
	}{
		{"usage", &commands.UsageError{Msg: commands.Notation("show needs a flag key."), Help: showHelp}},
		{"usage_unknown_command", &commands.UsageError{Msg: commands.Notation("I don't know the command `frob`.")}},
		{"usage_kind", &commands.Error{Kind: commands.KindUsage}},
		{"invalid", commands.Errorf(commands.KindInvalid, "%s is not a setting; use project or env.", "colour")},
		{"not_connected", &commands.Error{Kind: commands.KindNotConnected, Err: commands.ErrNotConnected}},
		{"not_admin", &commands.Error{Kind: commands.KindNotAdmin}},
		{"not_found_suggestions", &commands.Error{Kind: commands.KindNotFound, Msg: commands.Notation("I can't find flag `new-chekout` in project `web`."), Suggestions: []string{"new-checkout", "new-checkout-v2", "old-checkout"}}},
		{"not_found_many_suggestions", &commands.Error{Kind: commands.KindNotFound, Suggestions: []string{"a", "b", "c", "d", "e", "f", "g"}}},
		{"not_found_plain", &commands.Error{Kind: commands.KindNotFound}},
		{"unauthorized", &commands.Error{Kind: commands.KindUnauthorized, Err: errors.New("ld: 401")}},
		{"forbidden", &commands.Error{Kind: commands.KindForbidden}},
		{"conflict", &commands.Error{Kind: commands.KindConflict}},
		{"rate_limited", &commands.Error{Kind: commands.KindRateLimited}},
		{"unavailable", &commands.Error{Kind: commands.KindUnavailable}},
		{"store_unavailable", &commands.Error{Kind: commands.KindStoreUnavailable}},
		{"connection_unreadable", &commands.Error{Kind: commands.KindUnreadable, Err: commands.ErrUnreadable}},
		{"timeout_wrapped", fmt.Errorf("execute show: %w", &commands.Error{Kind: commands.KindTimeout, Err: context.DeadlineExceeded})},
		{"internal_with_msg", &commands.Error{Kind: commands.KindInternal, Msg: commands.Notation("Could not read the flag.")}},
		{"unclassified", fmt.Errorf("redis: dial tcp 10.0.0.5:6379: connection refused")},
		{"field_error", &commands.FieldError{Field: commands.FieldToken, Msg: commands.Notation("LaunchDarkly rejected this token.")}},
	}
}

func TestRenderErrorGolden(t *testing.T) {
	t.Parallel()
	type named struct {
		Name    string  `json:"name"`
		Message Message `json:"message"`
	}
	var all []named
	for _, tt := range errorCases() {
		m := RenderError(tt.err, "7f3a")
		checkMessage(t, m)
		all = append(all, named{tt.name, m})
	}
	golden(t, "errors", all)
}

func TestRenderErrorText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		err     error
		want    []string
		notWant []string
	}{
		{
			name:    "unclassified error hides internals",
			err:     fmt.Errorf("get flag: %w", errors.New("dial tcp 10.0.0.5:6379: token api-123")),
			want:    []string{"Something went wrong (ref `r1`)."},
			notWant: []string{"10.0.0.5", "api-123", "dial"},
		},
		{
			name:    "classified error hides its wrapped detail",
			err:     &commands.Error{Kind: commands.KindUnavailable, Err: errors.New("ld: GET /api/v2/flags: 503 secret-detail")},
			want:    []string{"LaunchDarkly isn't answering"},
			notWant: []string{"secret-detail", "503"},
		},
		{
			name: "usage shows usage and an example",
			err:  &commands.UsageError{Msg: commands.Notation("show needs a flag key."), Help: commands.HelpEntry{Name: "show", Usage: "show <flag> [env]", Examples: []string{"show new-checkout production"}}},
			want: []string{"show needs a flag key.", "Usage: `/flag show &lt;flag&gt; [env]`", "Try `/flag show new-checkout production`"},
		},
		{
			name: "not found suggestions",
			err:  &commands.Error{Kind: commands.KindNotFound, Msg: commands.Notation("I can't find flag `x`."), Suggestions: []string{"a", "b", "c"}},
			want: []string{"I can't find flag `x`. Did you mean `a`, `b` or `c`?"},
		},
		{
			name: "store unavailable",
			err:  &commands.Error{Kind: commands.KindStoreUnavailable, Err: errors.New("redis down")},
			want: []string{"The state store is unavailable; nothing was changed. Try again in a minute."},
		},
		{
			name:    "user text in a message is escaped",
			err:     &commands.Error{Kind: commands.KindNotFound, Msg: commands.Notation("I can't find flag <!channel>.")},
			want:    []string{"&lt;!channel&gt;"},
			notWant: []string{"<!channel>"},
		},
		{
			name: "nil error",
			err:  nil,
			want: []string{"Something went wrong (ref `r1`)."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := RenderError(tt.err, "r1")
			all := string(marshal(t, m))
			for _, w := range tt.want {
				if !strings.Contains(m.Text, w) || !strings.Contains(all, w) {
					t.Errorf("RenderError(%v) = %s, want it to contain %q", tt.err, all, w)
				}
			}
			for _, nw := range tt.notWant {
				if strings.Contains(all, nw) {
					t.Errorf("RenderError(%v) = %s, must not contain %q", tt.err, all, nw)
				}
			}
		})
	}
}

func TestConnectModalGolden(t *testing.T) {
	t.Parallel()
	v := ConnectModal(commands.ConnectModal{DefaultProject: "web", DefaultEnv: "production"})
	for name, txt := range map[string]*slack.TextBlockObject{"title": v.Title, "submit": v.Submit, "close": v.Close} {
		if txt == nil || txt.Text == "" || runeLen(txt.Text) > MaxModalTitle {
			t.Errorf("modal %s = %v, want 1..%d characters", name, txt, MaxModalTitle)
		}
	}
	if v.Title.Text != "Connect LaunchDarkly" || v.CallbackID != string(CallbackConnect) || v.Type != slack.VTModal {
		t.Errorf("modal title %q callback %q type %q", v.Title.Text, v.CallbackID, v.Type)
	}
	if err := CheckLimits(v.Blocks.BlockSet); err != nil {
		t.Errorf("CheckLimits: %v", err)
	}
	golden(t, "connect_modal", v)
	checked := ConnectModal(commands.ConnectModal{Checked: true, TokenName: "flagbot", Role: commands.RoleWriter, DefaultProject: "default", DefaultEnv: "live",
		Projects: []commands.Project{{Key: "web", Name: "Web app"}, {Key: "default"}},
		Envs:     []commands.Environment{{Key: "test", Name: "Test"}, {Key: "live", Name: "Live", Critical: true}}})
	if err := CheckView(checked); err != nil {
		t.Errorf("CheckView of the checked modal: %v", err)
	}
	golden(t, "connect_modal_checked", checked)

	// The inputs are found where the submit handler looks for them.
	inputs := map[string]string{}
	for _, b := range v.Blocks.BlockSet {
		if in, ok := b.(*slack.InputBlock); ok {
			el, _ := in.Element.(*slack.PlainTextInputBlockElement)
			if el == nil {
				t.Fatalf("input %s has element %T", in.BlockID, in.Element)
			}
			inputs[in.BlockID] = el.ActionID
			if in.BlockID == string(BlockToken) && in.Optional {
				t.Error("token input is optional")
			}
			if in.BlockID == string(BlockProject) && el.InitialValue != "web" {
				t.Errorf("project initial value %q, want web", el.InitialValue)
			}
		}
	}
	want := map[string]string{
		string(BlockToken):   string(ActionToken),
		string(BlockProject): string(ActionProject),
		string(BlockEnv):     string(ActionEnv),
	}
	if fmt.Sprint(inputs) != fmt.Sprint(want) {
		t.Errorf("inputs = %v, want %v", inputs, want)
	}
}

func TestWorkingOn(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"show new-checkout production", ":hourglass_flowing_sand: Working on `/flag show new-checkout production`…"},
		{"/flag  list\n checkout", ":hourglass_flowing_sand: Working on `/flag list checkout`…"},
		{"", ":hourglass_flowing_sand: Working on it…"},
		{"show <!here> `x`", ":hourglass_flowing_sand: Working on `/flag show &lt;!here&gt; 'x'`…"},
	}
	for _, tt := range tests {
		m := WorkingOn(tt.in)
		if m.Text != tt.want {
			t.Errorf("WorkingOn(%q).Text = %q, want %q", tt.in, m.Text, tt.want)
		}
		checkMessage(t, m)
	}
	long := WorkingOn("show " + strings.Repeat("a", 5000))
	checkMessage(t, long)
	if n := runeLen(long.Text); n > 200 {
		t.Errorf("WorkingOn(long) has %d characters, want a short ack", n)
	}
}

func TestFieldErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		want   map[string]string
		wantOK bool
	}{
		{"token", &commands.FieldError{Field: commands.FieldToken, Msg: commands.Notation("Rejected by LaunchDarkly.")}, map[string]string{"ld_token": "Rejected by LaunchDarkly."}, true},
		{"project wrapped", fmt.Errorf("connect: %w", &commands.FieldError{Field: commands.FieldProject, Msg: commands.Notation("No such project.")}), map[string]string{"ld_project": "No such project."}, true},
		{"env without msg", &commands.FieldError{Field: commands.FieldEnv}, map[string]string{"ld_env": "LaunchDarkly did not accept this value."}, true},
		{"unknown field", &commands.FieldError{Field: "colour", Msg: commands.Notation("x")}, nil, false},
		{"not a field error", &commands.Error{Kind: commands.KindUnavailable}, nil, false},
		{"nil", nil, nil, false},
	}
	for _, tt := range tests {
		got, ok := FieldErrors(tt.err)
		if ok != tt.wantOK || fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: FieldErrors(%v) = %v, %v, want %v, %v", tt.name, tt.err, got, ok, tt.want, tt.wantOK)
		}
	}
}

// TestEscaping proves LaunchDarkly and user text cannot inject mentions,
// links or formatting controls anywhere in a rendered message.
func TestEscaping(t *testing.T) {
	t.Parallel()
	evil := "<!channel> <@U0BAD> <https://evil.example|x> & co"
	results := []commands.Result{
		commands.FlagListResult{Query: commands.List{Project: "web", Env: "prod", Words: evil}, Flags: []commands.Flag{{Key: "k", Name: evil, Tags: []string{evil}}}},
		commands.FlagResult{Env: "prod", Flag: commands.Flag{Key: "k", Name: evil, Description: evil, Variations: []commands.Variation{{Value: rawJSON(`"<!here>"`), Name: evil}},
			Maintainer: &commands.Member{FirstName: evil}, Environments: map[string]commands.FlagEnvironment{"prod": {EnvironmentName: evil, Rules: []commands.Rule{{Description: evil}}}}}},
		commands.ProjectsResult{Projects: []commands.Project{{Key: "p", Name: evil}}},
		commands.EnvsResult{Project: evil, Envs: []commands.Environment{{Key: "e", Name: evil}}},
		commands.SegmentResult{Segment: commands.SegmentRecord{Key: "s", Name: evil, Description: evil, Flags: []commands.FlagRef{{Key: "f", Name: evil}}}},
		commands.ContextsResult{Query: commands.Contexts{Words: evil}, Contexts: []commands.ContextRecord{{Context: rawJSON(`{"kind":"user","key":"<!here>","name":"<!channel>"}`)}}},
		commands.ContextResult{Kind: "user", Key: "k", Records: []commands.ContextRecord{{Context: rawJSON(`{"kind":"user","key":"k","bio":"<!channel>"}`), LastSeen: evil}}},
		commands.AuditResult{Entries: []commands.AuditEntry{{Title: evil, Description: evil, Comment: evil, Member: &commands.Member{Email: evil}}}},
		commands.StatusResult{Connected: true, Info: commands.ConnectionInfo{TokenName: evil, ConnectedBy: evil}},
		commands.ConfigResult{Setting: commands.SettingProject, Value: evil},
	}
	for i, r := range results {
		m := renderResult(r)
		checkMessage(t, m)
		for _, s := range append(texts(t, m.Blocks), m.Text) {
			for _, bad := range []string{"<!channel>", "<!here>", "<@U0BAD>", "<https://evil", " & "} {
				if strings.Contains(s, bad) {
					t.Errorf("result %d (%T): text %q contains %q", i, r, s, bad)
				}
			}
		}
	}
}

// texts collects the text of every mrkdwn text object in blocks (plain_text
// is shown verbatim by Slack, so it cannot carry mentions or links).
func texts(t *testing.T, blocks []slack.Block) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(marshal(t, blocks), &v); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "text" && v["type"] == "mrkdwn" {
					out = append(out, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return out
}

func TestMarkdownToMrkdwn(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"relative link", "turned on [New checkout](/web/production/features/new-checkout)", "turned on <https://app.launchdarkly.com/web/production/features/new-checkout|New checkout>"},
		{"absolute link", "[docs](https://example.com/a?b=1&c=2)", "<https://example.com/a?b=1&amp;c=2|docs>"},
		{"mailto", "[Ana](mailto:ana@example.com) did it", "<mailto:ana@example.com|Ana> did it"},
		{"javascript dropped", "[click](javascript:alert(1))", "click"},
		{"parens in url", "[wiki](https://x.example/A_(b)) done", "<https://x.example/A_(b)|wiki> done"},
		{"protocol-relative dropped", "[x](//evil.example/a)", "x"},
		{"bold", "a **percentage rollout** b", "a *percentage rollout* b"},
		{"escapes", "<!channel> & <@U1>", "&lt;!channel&gt; &amp; &lt;@U1&gt;"},
		{"link text escaped", "[<!here>](https://x.example)", "<https://x.example|&lt;!here&gt;>"},
		{"pipe in url", "[a](https://x.example/a|b)", "<https://x.example/a%7Cb|a>"},
		{"not a link", "[a] (b) [c](d e)", "[a] (b) [c](d e)"},
		{"unclosed", "[a](https://x", "[a](https://x"},
		{"empty text", "[](https://x.example)", "<https://x.example|https://x.example>"},
		{"code kept", "in `Production`", "in `Production`"},
		{"multibyte", "é [ü](/ä)", "é <https://app.launchdarkly.com/ä|ü>"},
	}
	for _, tt := range tests {
		if got := mdToMrkdwn(tt.in, baseURL); got != tt.want {
			t.Errorf("%s: mdToMrkdwn(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
	if got := mdToMrkdwn("[a](/b)", ""); got != "a" {
		t.Errorf("relative link without base = %q, want the text alone", got)
	}
}

func TestPercent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		w    int
		want string
	}{{25000, "25%"}, {12345, "12.345%"}, {12500, "12.5%"}, {100000, "100%"}, {0, "0%"}, {1, "0.001%"}, {33330, "33.33%"}}
	for _, tt := range tests {
		if got := percent(tt.w); got != tt.want {
			t.Errorf("percent(%d) = %q, want %q", tt.w, got, tt.want)
		}
	}
}

func TestMention(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"U012AB3CD", "<@U012AB3CD>"},
		{"W012AB3CD", "<@W012AB3CD>"},
		{"", "someone"},
		{"U1> <!channel", "U1&gt; &lt;!channel"},
		{"u123", "u123"},
	}
	for _, tt := range tests {
		if got := mention(tt.in); got != tt.want {
			t.Errorf("mention(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestList1000 checks that a huge page is cut to the limits and that the
// "Next page" button continues right after the last flag shown.
func TestList1000(t *testing.T) {
	t.Parallel()
	r := flagList1000()
	m := renderResult(r)
	checkMessage(t, m)
	if len(m.Blocks) > MaxBlocks {
		t.Fatalf("%d blocks", len(m.Blocks))
	}
	shown := strings.Count(strings.Join(texts(t, m.Blocks), "\n"), "`flag-")
	if shown == 0 || shown >= len(r.Flags) {
		t.Fatalf("shown %d flags of %d, want a cut", shown, len(r.Flags))
	}
	act, ok := m.Blocks[len(m.Blocks)-1].(*slack.ActionBlock)
	if !ok {
		t.Fatalf("last block is %T, want the Next page actions block", m.Blocks[len(m.Blocks)-1])
	}
	btn := act.Elements.ElementSet[0].(*slack.ButtonBlockElement)
	if btn.ActionID != string(ActionNextPage) {
		t.Errorf("button action %q", btn.ActionID)
	}
	q, err := DecodeListCursor(btn.Value)
	if err != nil {
		t.Fatalf("DecodeListCursor: %v", err)
	}
	want := r.Query
	want.Offset = shown
	if q != want {
		t.Errorf("next page query = %+v, want %+v", q, want)
	}
	if !strings.Contains(m.Text, fmt.Sprintf("Showing 1–%d of 2500", shown)) {
		t.Errorf("Text = %q", m.Text)
	}
}

func TestListNextPage(t *testing.T) {
	t.Parallel()
	q := commands.List{Project: "web", Env: "production", Offset: 20}
	flags := []commands.Flag{listFlag(1, "production")}
	tests := []struct {
		name       string
		next       int
		wantButton bool
	}{
		{"more pages", 21, true},
		{"last page", 0, false},
	}
	for _, tt := range tests {
		m := renderResult(commands.FlagListResult{Query: q, Flags: flags, Total: 21, NextOffset: tt.next})
		checkMessage(t, m)
		var got *slack.ButtonBlockElement
		for _, b := range m.Blocks {
			if a, ok := b.(*slack.ActionBlock); ok {
				got = a.Elements.ElementSet[0].(*slack.ButtonBlockElement)
			}
		}
		if (got != nil) != tt.wantButton {
			t.Fatalf("%s: button = %v, want %v", tt.name, got != nil, tt.wantButton)
		}
		if got != nil {
			dq, err := DecodeListCursor(got.Value)
			if err != nil || dq.Offset != tt.next || dq.Project != "web" {
				t.Errorf("%s: cursor = %+v, %v", tt.name, dq, err)
			}
		}
		if !strings.Contains(m.Text, "Showing 21–21 of 21") {
			t.Errorf("%s: Text = %q", tt.name, m.Text)
		}
	}
}

func TestShowBigIsCut(t *testing.T) {
	t.Parallel()
	m := renderResult(showBigFixture())
	checkMessage(t, m)
	all := strings.Join(texts(t, m.Blocks), "\n")
	for _, want := range []string{"…", "*Individual targets*\n300", "…and 10 more", "…and 5 more", "+7"} {
		if !strings.Contains(all, want) {
			t.Errorf("big flag render lacks %q", want)
		}
	}
}

func TestShowContent(t *testing.T) {
	t.Parallel()
	m := renderResult(showFixture())
	all := strings.Join(texts(t, m.Blocks), "\n")
	for _, want := range []string{
		"Rollout: 12.345% Enabled `true`, 87.655% Disabled `false` (by `user` `key`)",
		"*When off*\nDisabled `false`",
		"*Individual targets*\n3",
		"*Rules*\n2",
		"1. Beta testers → Enabled `true`",
		"<https://app.launchdarkly.com/web/production/features/new-checkout|Open in LaunchDarkly>",
		"`checkout-api` serves variation 0",
		"<!date^" + strconv.FormatInt(when.Unix(), 10) + "^{date_short_pretty} {time}|2026-11-20 14:30 UTC>",
		"Maintainer: Ana Silva",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("show lacks %q", want)
		}
	}
	// Environments are listed sorted by key.
	d, s, p := strings.Index(all, "`development`"), strings.Index(all, "`staging`"), strings.LastIndex(all, "`production` — Production")
	if d < 0 || s < 0 || p < 0 || d > p || p > s {
		t.Errorf("environments not sorted by key: development %d, production %d, staging %d", d, p, s)
	}
}

func BenchmarkRenderFlagList1000(b *testing.B) {
	r := flagList1000()
	b.ReportAllocs()
	for b.Loop() {
		_ = renderResult(r)
	}
}

func BenchmarkRenderShow(b *testing.B) {
	r := showFixture()
	b.ReportAllocs()
	for b.Loop() {
		_ = renderResult(r)
	}
}

func TestListCursorRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   commands.List
		want commands.List // differs from in only when words had to be cut
	}{
		{"zero", commands.List{}, commands.List{}},
		{"full", commands.List{Project: "web", Env: "production", Words: "new checkout", Tag: "beta", Archived: true, Offset: 40, Output: commands.Output{Share: true}},
			commands.List{Project: "web", Env: "production", Words: "new checkout", Tag: "beta", Archived: true, Offset: 40, Output: commands.Output{Share: true}}},
		{"unicode and html", commands.List{Project: "p", Words: "<!here> & ünïcødé \"quoted\""}, commands.List{Project: "p", Words: "<!here> & ünïcødé \"quoted\""}},
	}
	for _, tt := range tests {
		v := EncodeListCursor(tt.in)
		if v == "" || len(v) > MaxButtonValue {
			t.Fatalf("%s: EncodeListCursor = %d characters", tt.name, len(v))
		}
		got, err := DecodeListCursor(v)
		if err != nil || got != tt.want {
			t.Errorf("%s: DecodeListCursor(EncodeListCursor(%+v)) = %+v, %v, want %+v", tt.name, tt.in, got, err, tt.want)
		}
	}

	// Words too long for a button are shortened; the rest survives.
	long := commands.List{Project: "web", Env: "production", Words: strings.Repeat("ü", 3000), Offset: 20}
	v := EncodeListCursor(long)
	if v == "" || len(v) > MaxButtonValue {
		t.Fatalf("long words: EncodeListCursor = %d characters, want 1..%d", len(v), MaxButtonValue)
	}
	got, err := DecodeListCursor(v)
	if err != nil || got.Project != "web" || got.Offset != 20 || got.Words == "" || !strings.HasPrefix(long.Words, got.Words) {
		t.Errorf("long words: decoded %+v, %v", got, err)
	}
	// Keys that cannot fit at all give no cursor.
	if v := EncodeListCursor(commands.List{Project: strings.Repeat("p", 3000)}); v != "" {
		t.Errorf("huge project key: EncodeListCursor = %d characters, want \"\"", len(v))
	}
}

func TestDecodeListCursorRejects(t *testing.T) {
	t.Parallel()
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"not base64", "!!!"},
		{"padded base64", base64.URLEncoding.EncodeToString([]byte(`{"v":1}`))},
		{"not json", b64("hello")},
		{"wrong version", b64(`{"v":2,"p":"web"}`)},
		{"no version", b64(`{"p":"web"}`)},
		{"unknown field", b64(`{"v":1,"token":"api-123"}`)},
		{"negative offset", b64(`{"v":1,"o":-5}`)},
		{"trailing data", b64(`{"v":1}{"v":1}`)},
		{"wrong type", b64(`{"v":1,"o":"20"}`)},
		{"too long", strings.Repeat("A", MaxButtonValue+1)},
	}
	for _, tt := range tests {
		if q, err := DecodeListCursor(tt.in); !errors.Is(err, ErrBadCursor) {
			t.Errorf("%s: DecodeListCursor(%q) = %+v, %v, want ErrBadCursor", tt.name, tt.in, q, err)
		}
	}
}

func FuzzDecodeListCursor(f *testing.F) {
	f.Add(EncodeListCursor(commands.List{Project: "web", Env: "production", Words: "x", Offset: 20}))
	f.Add("")
	f.Add("eyJ2IjoxfQ")
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, s string) {
		q, err := DecodeListCursor(s)
		if err != nil {
			return
		}
		// Whatever decodes must survive a round trip (words may be shortened
		// if their re-encoding is longer, e.g. U+2028 becomes \u2028).
		again, err := DecodeListCursor(EncodeListCursor(q))
		if err != nil || !strings.HasPrefix(q.Words, again.Words) {
			t.Fatalf("round trip of %+v = %+v, %v", q, again, err)
		}
		again.Words = q.Words
		if again != q {
			t.Fatalf("round trip of %+v = %+v", q, again)
		}
	})
}

// FuzzMarkdownToMrkdwn checks that LaunchDarkly Markdown can only ever
// produce links to http(s) or mailto URLs: every "<" in the output opens one
// of our links, never a mention or a special command like <!channel>.
func FuzzMarkdownToMrkdwn(f *testing.F) {
	for _, s := range []string{"[a](/b)", "[x](javascript:alert(1))", "<!channel>", "[<!here>](https://x)", "**b** & [c](mailto:d)", "[](hTtp://)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := mdToMrkdwn(s, baseURL)
		for i := 0; i < len(out); i++ {
			if out[i] != '<' {
				continue
			}
			rest := out[i+1:]
			l := strings.ToLower(rest)
			if !strings.HasPrefix(l, "https://") && !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "mailto:") {
				t.Fatalf("mdToMrkdwn(%q) = %q: unexpected < at %d", s, out, i)
			}
			end := strings.IndexByte(rest, '>')
			if end < 0 || !strings.Contains(rest[:end], "|") {
				t.Fatalf("mdToMrkdwn(%q) = %q: link at %d not closed", s, out, i)
			}
		}
	})
}

// renderResult renders r as the App does.
func renderResult(r commands.Result) Message { return NewRenderer().Result(r) }
