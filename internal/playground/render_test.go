package playground

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenNow is the clock of every golden test: 2023-11-15 10:00 UTC, the
// day after the dates in the fixtures.
func goldenNow() time.Time { return time.Date(2023, 11, 15, 10, 0, 0, 0, time.UTC) }

func testNames() Names {
	return Names{
		Users:    map[string]string{"U0ADMIN": "Ana Admin", "UANA": "Ana", "UBO": "Bo"},
		Groups:   map[string]string{"S0APPROVERS": "flag-approvers"},
		Channels: map[string]string{"C0DEMO": "flags-demo"},
	}
}

// golden compares got with testdata/golden/name.html, or rewrites it with
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".html")
	if *update {
		if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got+"\n" != string(want) {
		t.Errorf("%s differs from %s:\ngot:\n%s\nwant:\n%s", name, path, got, want)
	}
}

func TestMrkdwnGolden(t *testing.T) {
	t.Parallel()
	r := NewRenderer(goldenNow)
	tests := []struct{ name, in string }{
		{"formatting", "*bold* _italic_ ~strike~ `code *not bold*` and\n```\nfunc <b>(x) { *y* }\n```\nafter"},
		{"nested_and_words", "*bold _and italic_* snake_case_name 2*3*4 a * b * c file_*name*_x *unclosed"},
		{"mentions", "<@U0ADMIN> <@U9UNKNOWN|fallback> <@U9NONAME> <#C0DEMO> <#C9|other> <!subteam^S0APPROVERS> <!subteam^S9|@ops> <!here> <!channel>"},
		{"dates", "<!date^1700000000^{date_short_pretty} {time}|2023-11-14 22:13 UTC> / <!date^1699000000^{date_num} {time_secs}|fallback> / <!date^oops^{date}|shown as is>"},
		{"links", "<https://example.com|Example> <https://example.com/a?b=1&amp;c=2> <javascript:alert(1)|x> <mailto:ana@example.com> <ftp://x|y>"},
		{"entities_decoded_once", "a &amp;lt; b, &lt;img src=x onerror=alert(1)&gt;, &amp;amp; &quot;"},
		{"zero_width_space", "*\u200bnot bold\u200b* and _\u200bnot italic\u200b_ ~\u200bnot struck\u200b~ but *bold*; * spaced * stays"},
		{"emoji", ":white_check_mark: done :unknown_emoji: :warning::red_circle: 10:30:00"},
		{"quote", "&gt; quoted *bold*\nnot quoted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			golden(t, "mrkdwn_"+tt.name, r.Mrkdwn(tt.in, testNames()))
		})
	}
}

func TestBlocksGolden(t *testing.T) {
	t.Parallel()
	r := NewRenderer(goldenNow)
	for _, name := range []string{"change_pending", "escaping"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(filepath.Join("testdata", "blocks", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "blocks_"+name, r.Blocks(raw, testNames()))
		})
	}
}

func TestModalGolden(t *testing.T) {
	t.Parallel()
	r := NewRenderer(goldenNow)
	raw, err := os.ReadFile(filepath.Join("testdata", "blocks", "connect_modal.json"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("fresh", func(t *testing.T) {
		t.Parallel()
		golden(t, "modal_connect", r.Modal(ModalInput{ID: "V1", JSON: raw}, testNames()))
	})
	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		golden(t, "modal_connect_errors", r.Modal(ModalInput{
			ID: "V1", JSON: raw,
			Values: map[string]map[string]any{"ld_token": {"ld_token_input": map[string]any{"type": "plain_text_input", "value": `"><script>x</script>`}}},
			Errors: map[string]string{"ld_token": "LaunchDarkly rejected this token <b>."},
		}, testNames()))
	})
}

// TestEscapingInvariant checks, beyond the goldens, that no tag from the
// input survives anywhere in the output.
func TestEscapingInvariant(t *testing.T) {
	t.Parallel()
	r := NewRenderer(goldenNow)
	evil := `<img src=x onerror=alert(1)>`
	blocks, _ := json.Marshal([]any{
		map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": evil}},
		map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": evil + " &lt;img src=x onerror=alert(1)&gt;"}},
	})
	out := r.Blocks(blocks, Names{})
	for _, bad := range []string{"<img", "<script", "onerror=alert(1)>"} {
		if strings.Contains(out, bad) {
			t.Errorf("output contains %q:\n%s", bad, out)
		}
	}
}

func FuzzMrkdwn(f *testing.F) {
	for _, s := range []string{"*a* _b_ ~c~", "<@U1|x> <!date^1^{date}|f>", "```x```", "&amp;lt;", "*\u200b*", "`", "<", "<>", "*_~`"} {
		f.Add(s)
	}
	r := NewRenderer(goldenNow)
	f.Fuzz(func(t *testing.T, s string) {
		out := r.Mrkdwn(s, Names{})
		if strings.Contains(out, "<script") || strings.Contains(out, "<img") {
			t.Errorf("Mrkdwn(%q) = %q lets markup through", s, out)
		}
	})
}
