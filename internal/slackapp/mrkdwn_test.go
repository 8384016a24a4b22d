package slackapp

import (
	"testing"

	"github.com/flagbot/flagbot/internal/commands"
)

// TestMd pins how the core's text becomes mrkdwn: intended mentions and
// links stay markup, everything people or LaunchDarkly typed is escaped.
func TestMd(t *testing.T) {
	t.Parallel()
	const z = "\u200b"
	tests := []struct {
		name string
		in   commands.Text
		want string
	}{
		{"mention", commands.Textf("Only %s, who asked", commands.User("U0123")), "Only <@U0123>, who asked"},
		{"group", commands.Textf("Only members of %s", commands.Group("S0REL")), "Only members of <!subteam^S0REL>"},
		{"channel", commands.Text{commands.Channel("C0GEN")}, "<#C0GEN>"},
		{"not an id", commands.Text{commands.User("<!channel>"), commands.Group("x>y"), commands.Channel("#gen")}, "&lt;!channel&gt;x&gt;y#gen"},
		{"code", commands.Textf("`%s` is on", "a<b>&`c"), "`a&lt;b&gt;&amp;'c` is on"},
		{"strong", commands.Text{commands.Strong("production")}, "*production*"},
		{"link", commands.Text{commands.Link("https://app.launchdarkly.com/x|y", "open <it>")}, "<https://app.launchdarkly.com/x%7Cy|open &lt;it&gt;>"},
		{"unsafe link shows its label", commands.Text{commands.Link("javascript:alert(1)", "label")}, "label"},
		{"user text cannot mention or format", commands.Textf("flag %s", "<!channel> *x*"), "flag &lt;!channel&gt; *" + z + "x" + z + "*"},
		{"markers inside words stay", commands.Textf("%s", "my_flag_key a*b"), "my_flag_key a*b"},
		{"italic and strike", commands.Textf("%s", "_a_ ~b~"), "_" + z + "a" + z + "_ ~" + z + "b" + z + "~"},
		{"backtick", commands.Textf("%s", "a `b` c"), "a " + z + "`" + z + "b" + z + "`" + z + " c"},
		{"lone markers", commands.Textf("%s", "a * b _ c"), "a * b _ c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := md(tt.in); got != tt.want {
				t.Errorf("md(%#v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
