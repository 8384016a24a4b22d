package slackapp

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
)

// maxCardEnvs is how many environments a flag card lists.
const maxCardEnvs = 9

// FlagCard renders the unfurl of a link to a flag: its name (linked to
// url), on/off per environment, what it serves by default and when off in
// the environment in focus, and a "Request a change…" button.
func FlagCard(r commands.FlagResult, url string) Message {
	f := r.Flag
	title := "*" + oneLine(nameOr(f.Name, f.Key)) + "*"
	if u := safeURL(url); u != "" {
		title = link(u, oneLine(nameOr(f.Name, f.Key)))
		title = "*" + title + "*"
	}
	title += " " + code(f.Key)
	var tags []string
	if f.Archived {
		tags = append(tags, ":file_cabinet: archived")
	}
	if f.Temporary {
		tags = append(tags, "temporary")
	}
	if len(tags) > 0 {
		title += " · " + strings.Join(tags, " · ")
	}
	if d := strings.TrimSpace(f.Description); d != "" {
		title += "\n" + oneLine(truncPlain(d, 300))
	}
	blocks := []slack.Block{sectionBlock(title)}

	keys := sortedKeys(f.Environments)
	fields := make([]string, 0, min(len(keys), maxCardEnvs)+1)
	for _, k := range keys[:min(len(keys), maxCardEnvs)] {
		e := f.Environments[k]
		state := ":white_circle: Off"
		if e.On {
			state = ":large_green_circle: On"
		}
		fields = append(fields, "*"+oneLine(nameOr(e.EnvironmentName, k))+"*\n"+state)
	}
	if n := len(keys) - maxCardEnvs; n > 0 {
		fields = append(fields, fmt.Sprintf("…and %d more environments", n))
	}
	if len(fields) > 0 {
		blocks = append(blocks, fieldsBlock(fields...))
	}
	if fe, ok := f.Environments[r.Env]; ok && r.Env != "" {
		var b strings.Builder
		b.WriteString("In ")
		b.WriteString(code(r.Env))
		b.WriteString(": serves ")
		writeServe(&b, f, fe.Fallthrough)
		b.WriteString(" by default; when off, ")
		if fe.OffVariation != nil {
			writeVariation(&b, f, *fe.OffVariation)
		} else {
			b.WriteString("_not set_")
		}
		blocks = append(blocks, contextBlock(b.String()))
	}
	if v := EncodeRequestPrefill(commands.Request{Project: r.Project, Flag: f.Key, Env: r.Env}); v != "" {
		blocks = append(blocks, slack.NewActionBlock("flag_card",
			slack.NewButtonBlockElement(string(ActionRequestOpen), v, plainText("Request a change…"))))
	}
	return Fit(Message{Text: "Flag " + code(f.Key), Blocks: blocks})
}
