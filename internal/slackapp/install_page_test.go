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

// oldPageTemplate is the html/template the install pages were made with.
const oldPageTemplate = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · Flagbot</title>
<style>
body{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1d1c1d;line-height:1.5}
h1{font-size:1.5rem}
a.button{display:inline-block;margin:1rem 0;padding:.6rem 1.2rem;border-radius:6px;background:#4a154b;color:#fff;text-decoration:none;font-weight:bold}
.note,.ref{color:#616061;font-size:.9rem}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{range .Lines}}<p>{{.}}</p>
{{end}}{{if .Button}}<p><a class="button" href="{{.ButtonLink}}">{{.Button}}</a></p>
{{end}}{{if .Note}}<p class="note">{{.Note}}</p>
{{end}}{{if .Ref}}<p class="ref">Reference: {{.Ref}}</p>
{{end}}</body>
</html>
`
