package slackapp

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/slack-go/slack"
)

// contextIdentity reads a raw context: "kind:key" (comma-separated for a
// multi-context) and its name, when it has one.
func contextIdentity(raw json.RawMessage) (id, name string) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", ""
	}
	kind := jsonString(m["kind"])
	if kind == "" {
		kind = "user" // LaunchDarkly's implicit kind for old user objects
	}
	if kind != "multi" {
		return kind + ":" + jsonString(m["key"]), jsonString(m["name"])
	}
	var ids, names []string
	for _, k := range sortedKeys(m) {
		if k == "kind" {
			continue
		}
		var sub map[string]json.RawMessage
		if err := json.Unmarshal(m[k], &sub); err != nil {
			continue
		}
		ids = append(ids, k+":"+jsonString(sub["key"]))
		if n := jsonString(sub["name"]); n != "" {
			names = append(names, n)
		}
	}
	return strings.Join(ids, ", "), strings.Join(names, ", ")
}

// contextAttributes lists a raw context's attributes as name/value pairs,
// sorted, without kind, key and _meta; a multi-context's are prefixed by kind.
func contextAttributes(raw json.RawMessage) [][2]string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil
	}
	var out [][2]string
	add := func(prefix string, obj map[string]json.RawMessage) {
		for _, k := range sortedKeys(obj) {
			if k == "kind" || k == "key" || k == "_meta" {
				continue
			}
			v := jsonString(obj[k]) // strings without their quotes
			if v == "" {
				v = compactJSON(obj[k])
			}
			out = append(out, [2]string{prefix + k, v})
		}
	}
	if jsonString(m["kind"]) != "multi" {
		add("", m)
		return out
	}
	for _, k := range sortedKeys(m) {
		var sub map[string]json.RawMessage
		if k == "kind" || json.Unmarshal(m[k], &sub) != nil {
			continue
		}
		add(k+".", sub)
	}
	return out
}

func lastSeen(s string) string {
	if s == "" {
		return "unknown"
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return esc(s)
	}
	return slackDate(t)
}

func renderContexts(r commands.ContextsResult) Message {
	where := code(r.Env) + " of project " + code(r.Project)
	var filters []string
	if r.Query.Words != "" {
		filters = append(filters, "matching “"+oneLine(r.Query.Words)+"”")
	}
	if r.Query.Kind != "" {
		filters = append(filters, "of kind "+code(r.Query.Kind))
	}
	filter := ""
	if len(filters) > 0 {
		filter = " " + strings.Join(filters, ", ")
	}
	if len(r.Contexts) == 0 {
		return textMessage("No contexts" + filter + " seen in " + where + ".")
	}
	lines := make([]string, 0, len(r.Contexts))
	for _, c := range r.Contexts {
		id, name := contextIdentity(c.Context)
		l := "_unreadable context_"
		if id != "" {
			l = code(id) + nameSuffix(truncPlain(name, maxNameRunes), id)
		}
		l += " · last seen " + lastSeen(c.LastSeen)
		lines = append(lines, l)
	}
	blocks := []slack.Block{
		headerBlock("Contexts in " + r.Project + " / " + r.Env),
		contextBlock(countNoun(len(r.Contexts), "context", "contexts") + filter + " in " + where + "."),
	}
	blocks = append(blocks, listSections(lines)...)
	return Message{Text: countNoun(len(r.Contexts), "context", "contexts") + filter + " in " + where, Blocks: blocks}
}
