package playground

import (
	"html/template"
	"strings"
	"testing"

	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldfake"
	"github.com/flagbot/flagbot/internal/slackfake"
)

// TestPageMatchesTemplate: fillPage makes the page html/template made
// from the template it replaces, byte for byte, hostile names included.
func TestPageMatchesTemplate(t *testing.T) {
	raw, err := staticFiles.ReadFile("static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	// The template actions each placeholder replaced.
	old := strings.NewReplacer(
		"{{persona_options}}", `{{range .Demo.Personas}}<option value="{{.UserID}}">{{.Name}} ({{.Role}})</option>{{end}}`,
		"{{token_list}}", `{{range .Demo.Tokens}}<dt>{{.Role}} ({{.Name}})</dt><dd><code>{{.Value}}</code></dd>{{end}}`,
		"{{project_options}}", `{{range .Projects}}<option value="{{.Key}}">{{.Name}}</option>{{end}}`,
		"{{channel_name}}", "{{.Demo.ChannelName}}",
		"{{channel}}", "{{.Demo.Channel}}",
	).Replace(string(raw))
	tmpl := template.Must(template.New("page").Parse(old))
	hostile := `"><script>alert('x')</script> & +1` + "\x00"
	tests := []struct {
		name     string
		demo     Demo
		projects []ldfake.ProjectInfo
	}{
		{"demo", SeedSlack(slackfake.New(t, slackfake.Options{})), []ldfake.ProjectInfo{{Project: ld.Project{Key: "web", Name: "Web app"}}, {Project: ld.Project{Key: "mobile", Name: "Mobile app"}}}},
		{"hostile", Demo{Channel: hostile, ChannelName: hostile,
			Personas: []Persona{{UserID: hostile, Name: hostile, Role: hostile}},
			Tokens:   []Token{{Name: hostile, Role: hostile, Value: hostile}}},
			[]ldfake.ProjectInfo{{Project: ld.Project{Key: hostile, Name: hostile}}}},
		{"empty", Demo{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want strings.Builder
			if err := tmpl.Execute(&want, struct {
				Demo     Demo
				Projects []ldfake.ProjectInfo
			}{tt.demo, tt.projects}); err != nil {
				t.Fatal(err)
			}
			if got := fillPage(string(raw), tt.demo, tt.projects); got != want.String() {
				t.Errorf("fillPage =\n%s\nhtml/template =\n%s", got, want.String())
			}
		})
	}
}
