package commands

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestTextf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		format string
		args   []any
		want   Text
	}{
		{"plain", "Hello.", nil, Text{Plain("Hello.")}},
		{"code around an argument", "`%s` is on.", []any{"new-checkout"}, Text{Code("new-checkout"), Plain(" is on.")}},
		{"literal and argument share a code span", "Try `/flag show %s`.", []any{"x"}, Text{Plain("Try "), Code("/flag show x"), Plain(".")}},
		{"numbers", "%d of %d", []any{1, 2}, Text{Plain("1 of 2")}},
		{"a mention stays a mention", "Only %s can cancel.", []any{User("U1")}, Text{Plain("Only "), User("U1"), Plain(" can cancel.")}},
		{"text is spliced", "%s; %s", []any{Text{Code("a")}, Textf("b `c`")}, Text{Code("a"), Plain("; b "), Code("c")}},
		{"arguments are data", "`%s` and %s", []any{"a`b", "<!channel> *x*"}, Text{Code("a`b"), Plain(" and <!channel> *x*")}},
		{"percent", "100%% of %s", []any{"it"}, Text{Plain("100% of it")}},
		{"quoted", "project %q", []any{"web"}, Text{Plain(`project "web"`)}},
		{"missing argument writes nothing", "a %s b", nil, Text{Plain("a  b")}},
		{"extra argument is kept", "a", []any{"b"}, Text{Plain("a b")}},
		{"empty code span vanishes", "x `` y", nil, Text{Plain("x  y")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Textf(tt.format, tt.args...); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Textf(%q, %q) = %#v, want %#v", tt.format, tt.args, got, tt.want)
			}
		})
	}
}

func TestTextStrings(t *testing.T) {
	t.Parallel()
	txt := Text{Plain("Only "), User("U1"), Plain(" of "), Group("S1"), Plain(" in "), Channel("C1"), Plain(": "), Code("x"), Plain(" "), Strong("now"), Plain(" "), Link("https://a.b/c", "see")}
	if got, want := txt.String(), "Only <@U1> of <!subteam^S1> in <#C1>: `x` now see (https://a.b/c)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := txt.PlainString(), "Only @U1 of @S1 in #C1: x now see (https://a.b/c)"; got != want {
		t.Errorf("PlainString() = %q, want %q", got, want)
	}
}

func TestTextJSON(t *testing.T) {
	t.Parallel()
	txt := Text{Plain("a "), Code("b"), User("U1"), Link("https://x.y", "z")}
	raw, err := json.Marshal(txt)
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"k":"plain","t":"a "},{"k":"code","t":"b"},{"k":"user","t":"U1"},{"k":"link","t":"z","u":"https://x.y"}]`; string(raw) != want {
		t.Errorf("Marshal = %s, want %s", raw, want)
	}
	var back Text
	if err := json.Unmarshal(raw, &back); err != nil || !reflect.DeepEqual(back, txt) {
		t.Errorf("Unmarshal = %#v, %v, want %#v", back, err, txt)
	}
	// A change stored before structured text held mrkdwn in a string.
	var old Text
	if err := json.Unmarshal([]byte(`"<@U9> approved; `+"`x`"+` is on &amp; more"`), &old); err != nil {
		t.Fatal(err)
	}
	if want := (Text{User("U9"), Plain(" approved; "), Code("x"), Plain(" is on & more")}); !reflect.DeepEqual(old, want) {
		t.Errorf("legacy Unmarshal = %#v, want %#v", old, want)
	}
}

func TestLegacyText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Text
	}{
		{"", nil},
		{"plain &lt;b&gt;", Text{Plain("plain <b>")}},
		{"Only <@U1>, who asked", Text{Plain("Only "), User("U1"), Plain(", who asked")}},
		{"members of <!subteam^S1|release>", Text{Plain("members of "), Group("S1")}},
		{"in <#C1|general> at <!date^1^{date}|2026-01-01>", Text{Plain("in "), Channel("C1"), Plain(" at 2026-01-01")}},
		{"see <https://x.y/z|the request>", Text{Plain("see "), Link("https://x.y/z", "the request")}},
		{"unclosed `code", Text{Plain("unclosed `code")}},
		{"unclosed <tag", Text{Plain("unclosed <tag")}},
	}
	for _, tt := range tests {
		if got := LegacyText(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("LegacyText(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func FuzzLegacyText(f *testing.F) {
	for _, s := range []string{"", "`a`", "<@U1>", "<x|y>", "&amp;<", "<!subteam^>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		txt := LegacyText(s)
		raw, err := json.Marshal(txt)
		if err != nil {
			t.Fatal(err)
		}
		var back Text
		if err := json.Unmarshal(raw, &back); err != nil || len(back) != len(txt) {
			t.Fatalf("round trip of %q: %v", s, err)
		}
	})
}

func FuzzTextf(f *testing.F) {
	for _, s := range []string{"", "`%s`", "%%", "a `b %d` c", "%q%v"} {
		f.Add(s, "arg")
	}
	f.Fuzz(func(t *testing.T, format, arg string) {
		_ = Textf(format, arg, 1).String()
	})
}
