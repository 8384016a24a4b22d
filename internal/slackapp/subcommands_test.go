package slackapp

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flagbot/flagbot/internal/commands"
)

// TestEverySubcommandIsComplete fails for a subcommand added halfway. The
// compiler already insists that every subcommand has a Run (commands.Command)
// and the commands tests that every help row parses its examples; this test
// adds the transport's half: every help row has at least one golden
// rendering (a case named after it, or after it plus "_…") whose result has
// a renderer in NewRenderer, and a row in the README's command tables.
func TestEverySubcommandIsComplete(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rd := NewRenderer()
	var cases []renderCase
	cases = append(cases, goldenResults()...)
	cases = append(cases, changeKindCases()...)
	cases = append(cases, digestResultCases()...)
	cases = append(cases, saferResultCases()...)
	cases = append(cases, renderCase{"pending", commands.PendingResult{}}, renderCase{"history_empty", commands.HistoryResult{}})
	for _, h := range commands.HelpTable() {
		found := false
		for _, c := range cases {
			if c.name != h.Name && !strings.HasPrefix(c.name, h.Name+"_") {
				continue
			}
			found = true
			if !rd.Renders(c.in) {
				t.Errorf("subcommand %q: result %T of golden case %q has no renderer: register it in NewRenderer", h.Name, c.in, c.name)
			}
			if _, err := os.Stat(filepath.Join("testdata", "golden", c.name+".json")); err != nil {
				t.Errorf("subcommand %q: golden case %q has no golden file (go test -update): %v", h.Name, c.name, err)
			}
		}
		if !found {
			t.Errorf("subcommand %q has no golden rendering: add a case named %q to goldenResults", h.Name, h.Name)
		}
		if !readmeRow(readme, h.Name) {
			t.Errorf("subcommand %q has no row in README.md (a table row naming `/flag %s …`)", h.Name, h.Name)
		}
	}
}

// readmeRow reports whether a table row of readme names `/flag name`.
func readmeRow(readme []byte, name string) bool {
	for _, line := range bytes.Split(readme, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte("|")) {
			continue
		}
		for _, end := range []string{" ", "`"} {
			if bytes.Contains(line, []byte("`/flag "+name+end)) {
				return true
			}
		}
	}
	return false
}
