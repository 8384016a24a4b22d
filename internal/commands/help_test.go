package commands

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestHelpTableExamplesParse(t *testing.T) {
	t.Parallel()
	for _, h := range HelpTable() {
		if len(h.Examples) == 0 {
			t.Errorf("help entry %q has no examples", h.Name)
		}
		for _, ex := range h.Examples {
			cmd, err := Parse(ex)
			if err != nil {
				t.Errorf("Parse(%q) (an example of %q) error = %v", ex, h.Name, err)
				continue
			}
			if cmd.Name() != h.Name {
				t.Errorf("Parse(%q) = %#v, named %q, want a %q command", ex, cmd, cmd.Name(), h.Name)
			}
			checkParsed(t, ex, cmd)
		}
	}
}

func TestHelpTableEntries(t *testing.T) {
	t.Parallel()
	wantAdmin := []string{"connect", "disconnect", "config"}
	table := HelpTable()
	var names []string
	for _, h := range table {
		if slices.Contains(names, h.Name) {
			t.Errorf("two help rows are called %q", h.Name)
		}
		names = append(names, h.Name)
		if !strings.HasPrefix(h.Usage, h.Name) {
			t.Errorf("%q usage %q does not start with its name", h.Name, h.Usage)
		}
		if h.Summary == "" || !strings.HasSuffix(h.Summary, ".") {
			t.Errorf("%q summary %q is not a sentence", h.Name, h.Summary)
		}
		if got, want := h.Admin, slices.Contains(wantAdmin, h.Name); got != want {
			t.Errorf("%q Admin = %v, want %v", h.Name, got, want)
		}
		for _, ex := range h.Examples {
			if strings.HasPrefix(ex, "/") {
				t.Errorf("%q example %q includes the slash command", h.Name, ex)
			}
		}
	}
	if names[0] != "help" {
		t.Errorf("help lists %q first, want help", names[0])
	}
}

// TestChangeKindsAreComplete: every kind of change has its description in
// the kind table and a help row of the same name whose examples parse into
// a change command, so a kind cannot be added halfway.
func TestChangeKindsAreComplete(t *testing.T) {
	t.Parallel()
	table := kindTable()
	if len(table) != len(ChangeKinds()) {
		t.Errorf("kind table has %d entries for %d kinds", len(table), len(ChangeKinds()))
	}
	for _, k := range ChangeKinds() {
		info, ok := table[k]
		if !ok || info.verb == nil || info.state == nil {
			t.Errorf("kind %q has no complete entry in kindTable", k)
			continue
		}
		if v := (Change{Kind: k, Flag: "f", Env: "e"}).Verb().String(); !strings.Contains(v, "`f`") {
			t.Errorf("kind %q verb %q does not name the flag", k, v)
		}
		h, ok := LookupHelp(string(k))
		if !ok {
			t.Errorf("kind %q has no subcommand", k)
			continue
		}
		for _, ex := range h.Examples {
			cmd, err := Parse(ex)
			if _, change := cmd.(ChangeCommand); err != nil || !change {
				t.Errorf("Parse(%q) = %#v, %v; want a change command", ex, cmd, err)
			}
		}
	}
	// Every change command files a kind the table knows.
	for _, h := range HelpTable() {
		cmd, err := Parse(h.Examples[0])
		if _, change := cmd.(ChangeCommand); err == nil && change && !slices.Contains(ChangeKinds(), ChangeKind(h.Name)) {
			t.Errorf("change command %q has no ChangeKind", h.Name)
		}
	}
}

// TestUsageNamesOnlyAcceptedOptions keeps help honest: every --option a
// usage line mentions is one Parse accepts for that subcommand, and every
// subcommand whose command has an Output accepts --share.
func TestUsageNamesOnlyAcceptedOptions(t *testing.T) {
	t.Parallel()
	for _, s := range subcommands() {
		for _, w := range strings.Fields(s.entry.Usage) {
			w = strings.Trim(w, "[]")
			if !strings.HasPrefix(w, "--") {
				continue
			}
			if !slices.Contains(s.options, strings.TrimPrefix(w, "--")) {
				t.Errorf("%q usage names %s, which Parse does not accept", s.entry.Name, w)
			}
		}
		cmd, err := Parse(s.entry.Examples[0])
		if err != nil {
			t.Fatalf("Parse(%q) error = %v", s.entry.Examples[0], err)
		}
		_, hasOutput := cmd.(interface{ Shared() bool })
		if got := slices.Contains(s.options, optShare); got != hasOutput {
			t.Errorf("%q accepts --share = %v, but its command has an Output = %v", s.entry.Name, got, hasOutput)
		}
	}
}

func TestShareSetsOutput(t *testing.T) {
	t.Parallel()
	for _, s := range subcommands() {
		if !slices.Contains(s.options, optShare) {
			continue
		}
		in := s.entry.Examples[len(s.entry.Examples)-1]
		if !strings.Contains(in, "--share") {
			in += " --share"
		}
		cmd, err := Parse(in)
		if err != nil {
			t.Fatalf("Parse(%q) error = %v", in, err)
		}
		if !IsShared(cmd) {
			t.Errorf("IsShared(Parse(%q)) = false, want true", in)
		}
	}
}

func TestLookupHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		want   string
		wantOK bool
	}{
		{in: "show", want: "show", wantOK: true},
		{in: "SHOW", want: "show", wantOK: true},
		{in: " get ", want: "show", wantOK: true},
		{in: "ls", want: "list", wantOK: true},
		{in: "environments", want: "envs", wantOK: true},
		{in: "audit", want: "audit", wantOK: true},
		{in: "shwo"},
		{in: ""},
	}
	for _, tt := range tests {
		got, ok := LookupHelp(tt.in)
		if got.Name != tt.want || ok != tt.wantOK {
			t.Errorf("LookupHelp(%q) = %q, %v, want %q, %v", tt.in, got.Name, ok, tt.want, tt.wantOK)
		}
	}
	for _, h := range HelpTable() {
		got, ok := LookupHelp(h.Name)
		if !ok || !reflect.DeepEqual(got, h) {
			t.Errorf("LookupHelp(%q) = %#v, %v, want the table entry", h.Name, got, ok)
		}
	}
}

func TestHelpTableIsFreshPerCall(t *testing.T) {
	t.Parallel()
	first := HelpTable()
	first[0].Name = "changed"
	first[len(first)-1].Examples[0] = "changed"
	second := HelpTable()
	if second[0].Name == "changed" || second[len(second)-1].Examples[0] == "changed" {
		t.Fatal("changing one HelpTable result changed the next")
	}
	if h, _ := LookupHelp(second[len(second)-1].Name); h.Examples[0] == "changed" {
		t.Fatal("changing a HelpTable result changed LookupHelp")
	}
}

func TestSuggestSubcommand(t *testing.T) {
	t.Parallel()
	subs := subcommands()
	tests := []struct{ in, want string }{
		{in: "shwo", want: "show"},
		{in: "Shwo", want: "show"},
		{in: "lsit", want: "list"},
		{in: "segmnets", want: "segments"},
		{in: "contxt", want: "context"},
		{in: "hlep", want: "help"},
		{in: "aud", want: "audit"},
		{in: "enviroments", want: "environments"},
		{in: "project", want: "projects"},
		{in: "toggle", want: ""},
		{in: "xy", want: ""},
		{in: "", want: ""},
		{in: strings.Repeat("a", 100), want: ""},
	}
	for _, tt := range tests {
		if got := suggestSubcommand(subs, tt.in); got != tt.want {
			t.Errorf("suggestSubcommand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
