package slackapp

import (
	"html/template"
	"strings"
	"testing"
)

// TestInstallPageMatchesTemplate: the hand-written install pages are the
// pages html/template made from the template they replace, byte for byte,
// hostile text included.
func TestInstallPageMatchesTemplate(t *testing.T) {
	tmpl := template.Must(template.New("page").Parse(oldPageTemplate))
	tests := []struct {
		name string
		page pageData
	}{
		{"title only", pageData{Title: "Something went wrong"}},
		{"every part", pageData{Title: "Flagbot is installed in Acme", Lines: []string{"One.", "Two."},
			Button: "Add to Slack", ButtonLink: "https://slack.com/oauth/v2/authorize?client_id=1.2&scope=commands%2Cchat%3Awrite&state=a-b_c",
			Note: "A note.", Ref: "7f3a"}},
		{"hostile text", pageData{Title: `<script>alert("x")</script> & 'y' + z` + "\x00", Lines: []string{`<img src=x onerror=alert(1)>`, "a\nb"},
			Button: `"><b>`, ButtonLink: "http://127.0.0.1:3000/slack/install?x=1&y=2", Note: `O'Brien & Co <`, Ref: `"ref"`}},
		{"empty lines", pageData{Title: "T", Lines: []string{""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := tt.page
			data := struct {
				pageData
				ButtonLink template.URL
			}{old, template.URL(old.ButtonLink)}
			var want strings.Builder
			if err := tmpl.Execute(&want, data); err != nil {
				t.Fatal(err)
			}
			if got := renderPage(newHTMLEscaper(), tt.page); got != want.String() {
				t.Errorf("renderPage =\n%s\nhtml/template =\n%s", got, want.String())
			}
		})
	}
}

// oldPageTemplate is the html/template the install pages were made with
// (the head and style, which hold no data, are renderPage's).
var oldPageTemplate = pageHead1 + "{{.Title}}" + pageHead2 + `{{.Title}}</h1>
{{range .Lines}}<p>{{.}}</p>
{{end}}{{if .Button}}<p><a class="button" href="{{.ButtonLink}}">{{.Button}}</a></p>
{{end}}{{if .Note}}<p class="note">{{.Note}}</p>
{{end}}{{if .Ref}}<p class="ref">Reference: {{.Ref}}</p>
{{end}}</body>
</html>
`
