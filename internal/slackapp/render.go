package slackapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/ld"
)

// Message is a rendered answer: blocks plus the fallback text Slack uses in
// notifications and where blocks cannot be shown. Both are mrkdwn with every
// user- or LaunchDarkly-provided string escaped.
type Message struct {
	Text   string        `json:"text"`
	Blocks []slack.Block `json:"blocks,omitempty"`
}

// How much of a long list one message shows. A page that does not fit is cut
// and its "Next page" button continues after the last line shown.
const (
	maxListLines     = 100 // lines in a list (flags, segments, contexts, ...)
	maxListBlocks    = 40  // sections a list may fill
	maxVariations    = 20  // variations listed on /flag show
	maxRules         = 10  // rules listed on /flag show
	maxPrerequisites = 10
	maxFlagRefs      = 20 // "used by" flags on /flag segment
	maxRecords       = 10 // records on /flag context
	maxAttributes    = 15 // attributes per context record
	maxTags          = 5
	maxValueRunes    = 60  // a variation or attribute value
	maxNameRunes     = 120 // a name in a list line
	maxAuditTitle    = 300 // audit-log title, in Markdown source runes
	maxAuditDesc     = 500
	maxComment       = 500
	maxSuggestions   = 5
	maxWorkingOn     = 100
)

// RenderResult turns a command result into a message, already fitted to
// Slack's limits. A result type it does not know becomes a plain message.
func RenderResult(r commands.Result) Message {
	var m Message
	switch r := r.(type) {
	case commands.HelpResult:
		m = renderHelp(r)
	case commands.ConnectModal:
		m = textMessage("Opening the LaunchDarkly connection dialog…")
	case commands.ConnectResult:
		m = renderConnect(r)
	case commands.StatusResult:
		m = renderStatus(r)
	case commands.DisconnectResult:
		m = renderDisconnect(r)
	case commands.ConfigResult:
		m = renderConfig(r)
	case commands.ProjectsResult:
		m = renderProjects(r)
	case commands.EnvsResult:
		m = renderEnvs(r)
	case commands.FlagListResult:
		m = renderList(r)
	case commands.FlagResult:
		m = renderShow(r)
	case commands.SegmentsResult:
		m = renderSegments(r)
	case commands.SegmentResult:
		m = renderSegment(r)
	case commands.ContextsResult:
		m = renderContexts(r)
	case commands.ContextResult:
		m = renderContext(r)
	case commands.AuditResult:
		m = renderAudit(r)
	case commands.ChangeResult:
		m = RenderChange(r)
	case commands.PendingResult:
		m = renderChangeList("Pending changes", "Nothing is waiting for approval in this workspace.", r.Changes)
	case commands.HistoryResult:
		title := "Recent decisions"
		if r.Flag != "" {
			title += " for " + r.Flag
		}
		m = renderChangeList(title, "No decided changes yet.", r.Changes)
	default:
		if dm, ok := RenderDigestResult(r); ok {
			return dm
		}
		m = textMessage("Done, but I don't know how to show this result.")
	}
	return Fit(m)
}

// RenderError turns a failed command into a friendly message chosen by the
// error's kind (commands.KindOf). A user-facing Msg on a *commands.Error is
// used when set. Unclassified errors become "Something went wrong (ref …)";
// their text is never shown because it may hold internals. The caller logs
// err under the same ref.
func RenderError(err error, ref string) Message {
	var (
		usage *commands.UsageError
		cerr  *commands.Error
		ferr  *commands.FieldError
	)
	switch {
	case errors.As(err, &usage):
		return Fit(renderUsage(usage.Msg, usage.Help))
	case errors.As(err, &cerr):
		return Fit(renderKind(cerr, ref))
	case errors.As(err, &ferr) && ferr.Msg != "":
		return Fit(textMessage(esc(ferr.Msg)))
	}
	return Fit(textMessage(somethingWrong("", ref)))
}

func renderKind(e *commands.Error, ref string) Message {
	msg := esc(e.Msg)
	or := func(def string) string {
		if msg != "" {
			return msg
		}
		return def
	}
	switch e.Kind {
	case commands.KindUsage:
		return renderUsage(e.Msg, commands.HelpEntry{})
	case commands.KindInvalid:
		return textMessage(or("That value isn't acceptable. Type `/flag help` to see what I can do."))
	case commands.KindNotConnected:
		return textMessage(or("This workspace is not connected to LaunchDarkly yet. Ask an admin to run `/flag connect`."))
	case commands.KindNotAdmin:
		return textMessage(or("Only workspace admins can do that."))
	case commands.KindNotFound:
		s := or("I can't find that in LaunchDarkly.")
		if n := len(e.Suggestions); n > 0 {
			sugg := make([]string, 0, maxSuggestions)
			for _, x := range e.Suggestions[:min(n, maxSuggestions)] {
				sugg = append(sugg, code(x))
			}
			s += " Did you mean " + joinOr(sugg) + "?"
		}
		return textMessage(s)
	case commands.KindUnauthorized:
		return textMessage(or("LaunchDarkly rejected the stored token; it may have been revoked or expired. An admin should run `/flag connect` again."))
	case commands.KindForbidden:
		return textMessage(or("The connected LaunchDarkly token isn't allowed to do that. An admin can connect a token with more access using `/flag connect`."))
	case commands.KindConflict:
		return textMessage(or("LaunchDarkly reported a conflict: something changed while I was working. Look again and retry."))
	case commands.KindRateLimited:
		return textMessage(or("LaunchDarkly is rate-limiting requests right now. Try again in a minute."))
	case commands.KindUnavailable:
		return textMessage(or("LaunchDarkly isn't answering right now. Try again in a moment."))
	case commands.KindStoreUnavailable:
		return textMessage(or("The state store is unavailable; nothing was changed. Try again in a minute."))
	case commands.KindTimeout:
		return textMessage(or("That took too long, so I stopped. Try again in a moment."))
	}
	return textMessage(somethingWrong(msg, ref))
}

func somethingWrong(msg, ref string) string {
	if msg == "" {
		msg = "Something went wrong"
	} else {
		msg = strings.TrimRight(msg, ".")
	}
	if ref == "" {
		return msg + "."
	}
	return msg + " (ref " + code(ref) + ")."
}

func renderUsage(msg string, h commands.HelpEntry) Message {
	first := esc(strings.TrimSpace(msg))
	if first == "" {
		first = "I didn't understand that."
	}
	if h.Name == "" {
		return textMessage(first + "\nType `/flag help` to see what I can do.")
	}
	lines := []string{first, "Usage: " + code("/flag "+usageOf(h))}
	if len(h.Examples) > 0 {
		lines = append(lines, "Try "+code("/flag "+h.Examples[0]))
	}
	return textMessage(strings.Join(lines, "\n"))
}

// FieldErrors maps a *commands.FieldError in err's chain to the connect
// modal's block IDs, the shape of a response_action=errors answer. It
// returns false when err holds no FieldError for a known field.
func FieldErrors(err error) (map[string]string, bool) {
	var fe *commands.FieldError
	if !errors.As(err, &fe) {
		return nil, false
	}
	var id BlockID
	switch fe.Field {
	case commands.FieldToken:
		id = BlockToken
	case commands.FieldProject:
		id = BlockProject
	case commands.FieldEnv:
		id = BlockEnv
	default:
		return nil, false
	}
	msg := fe.Msg
	if msg == "" {
		msg = "LaunchDarkly did not accept this value."
	}
	return map[string]string{string(id): truncPlain(msg, 500)}, true
}

// WorkingOn is the small message acknowledging a command while it runs. cmd
// is the command text, with or without the leading "/flag".
func WorkingOn(cmd string) Message {
	cmd = strings.Join(strings.Fields(cmd), " ")
	cmd = strings.TrimSpace(strings.TrimPrefix(cmd, "/flag"))
	s := ":hourglass_flowing_sand: Working on it…"
	if cmd != "" {
		s = ":hourglass_flowing_sand: Working on " + code(truncPlain("/flag "+cmd, maxWorkingOn)) + "…"
	}
	return Fit(Message{Text: s, Blocks: []slack.Block{contextBlock(s)}})
}

// ConnectModal builds the modal in which an admin pastes a LaunchDarkly
// access token, with optional default project and environment prefilled.
func ConnectModal(m commands.ConnectModal) slack.ModalViewRequest {
	token := slack.NewPlainTextInputBlockElement(plainText("api-…"), string(ActionToken))
	token.MaxLength = 200
	project := slack.NewPlainTextInputBlockElement(plainText("e.g. default"), string(ActionProject)).
		WithInitialValue(m.DefaultProject).WithMaxLength(100)
	env := slack.NewPlainTextInputBlockElement(plainText("e.g. production"), string(ActionEnv)).
		WithInitialValue(m.DefaultEnv).WithMaxLength(100)
	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		Title:      plainText("Connect LaunchDarkly"),
		Submit:     plainText("Connect"),
		Close:      plainText("Cancel"),
		CallbackID: string(CallbackConnect),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			sectionBlock("Paste a LaunchDarkly API access token (*Organization settings → Authorization*). " +
				"Flagbot checks it with LaunchDarkly before saving it."),
			slack.NewInputBlock(string(BlockToken), plainText("LaunchDarkly access token"),
				plainText("Stored encrypted; after this it is never shown again, only its last 4 characters. "+
					"A Reader token is read-only; a Writer token also lets Flagbot make changes."),
				token),
			slack.NewInputBlock(string(BlockProject), plainText("Default project key"),
				plainText("Used when a command names no project."), project).WithOptional(true),
			slack.NewInputBlock(string(BlockEnv), plainText("Default environment key"),
				plainText("Used when a command names no environment."), env).WithOptional(true),
		}},
	}
}

// ---- help ----

func usageOf(h commands.HelpEntry) string {
	if h.Usage != "" {
		return h.Usage
	}
	return h.Name
}

func renderHelp(r commands.HelpResult) Message {
	if r.Topic != "" {
		if len(r.Entries) == 0 {
			return textMessage("There is no command called " + code(r.Topic) + ". Type `/flag help` to see what I can do.")
		}
		e := r.Entries[0]
		s := code("/flag "+usageOf(e)) + "\n" + esc(e.Summary)
		blocks := []slack.Block{headerBlock("/flag " + e.Name), sectionBlock(s)}
		if len(e.Examples) > 0 {
			lines := make([]string, 0, len(e.Examples)+1)
			lines = append(lines, "*Examples*")
			for _, ex := range e.Examples {
				lines = append(lines, code("/flag "+ex))
			}
			blocks = append(blocks, sectionBlock(strings.Join(lines, "\n")))
		}
		if e.Admin {
			blocks = append(blocks, contextBlock(":lock: Only workspace admins can run this."))
		}
		return Message{Text: code("/flag "+usageOf(e)) + ": " + esc(e.Summary), Blocks: blocks}
	}
	lines := make([]string, 0, len(r.Entries))
	admin := false
	for _, e := range r.Entries {
		l := code("/flag "+usageOf(e)) + " — " + esc(e.Summary)
		if e.Admin {
			l += " :lock:"
			admin = true
		}
		lines = append(lines, l)
	}
	blocks := []slack.Block{headerBlock("Flagbot: LaunchDarkly flags in Slack")}
	sections, _ := packChunks(lines, "\n", maxListBlocks)
	blocks = append(blocks, sections...)
	foot := "Type `/flag help &lt;command&gt;` for details and examples."
	if admin {
		foot += " :lock: = workspace admins only."
	}
	blocks = append(blocks, contextBlock(foot))
	return Message{Text: "Flagbot commands", Blocks: blocks}
}

// ---- connection ----

func roleLabel(role string) string {
	switch role {
	case commands.RoleReader:
		return "Reader"
	case commands.RoleWriter:
		return "Writer"
	case commands.RoleAdmin:
		return "Admin"
	case commands.RoleCustom:
		return "Custom role"
	}
	return "Unknown role"
}

const readerNote = "This is a Reader token: Flagbot can show flags but not change them. " +
	"An admin can connect a Writer token with `/flag connect`."

func tokenPhrase(i commands.ConnectionInfo) string {
	s := "a token"
	if i.TokenName != "" {
		s = "token *" + oneLine(i.TokenName) + "*"
	}
	return s + " (" + roleLabel(i.Role) + ")"
}

func defaultsSentence(i commands.ConnectionInfo) string {
	switch {
	case i.DefaultProject != "" && i.DefaultEnv != "":
		return "Default project " + code(i.DefaultProject) + ", environment " + code(i.DefaultEnv) + "."
	case i.DefaultProject != "":
		return "Default project " + code(i.DefaultProject) + "; no default environment yet (`/flag config env &lt;key&gt;`)."
	}
	return "No default project yet: set one with `/flag config project &lt;key&gt;`."
}

func renderConnect(r commands.ConnectResult) Message {
	i := r.Info
	s := ":white_check_mark: Connected to LaunchDarkly as " + tokenPhrase(i) + ", ending in " + code(i.Last4) + "."
	blocks := []slack.Block{sectionBlock(s + "\n" + defaultsSentence(i))}
	if i.Role == commands.RoleReader {
		blocks = append(blocks, contextBlock(":information_source: "+readerNote))
	}
	blocks = append(blocks, contextBlock("Try `/flag list` to browse flags, or `/flag help` for everything else."))
	return Message{Text: s, Blocks: blocks}
}

func renderDisconnect(r commands.DisconnectResult) Message {
	i := r.Info
	s := "Disconnected from LaunchDarkly. Flagbot deleted " + tokenPhrase(i) + ", ending in " + code(i.Last4) + "."
	note := "The token itself still works in LaunchDarkly; revoke it there if nothing else uses it."
	return Message{Text: s, Blocks: []slack.Block{sectionBlock(s), contextBlock(note)}}
}

func renderConfig(r commands.ConfigResult) Message {
	switch r.Setting {
	case commands.SettingProject, commands.SettingEnv:
		what := "The default project"
		if r.Setting == commands.SettingEnv {
			what = "The default environment"
		}
		if r.Value == "" {
			return textMessage(what + " is now cleared.")
		}
		return textMessage(what + " is now " + code(r.Value) + ".")
	case commands.SettingRequireReason:
		if r.Policy.RequireReason {
			return textMessage("Every change request now needs a reason: `--reason \"…\"`.")
		}
		return textMessage("Change requests no longer need a reason (they can still give one).")
	case commands.SettingApprovers:
		if r.Policy.ApproverGroup == "" {
			return textMessage("Anyone in this workspace except the requester can now approve changes.")
		}
		return textMessage("Only members of <!subteam^" + esc(r.Policy.ApproverGroup) + "> can now approve or reject changes.")
	case commands.SettingApprovals:
		return textMessage(fmt.Sprintf("Changes in %s now need %s.", code(r.Env), countNoun(r.Count, "approval", "approvals")))
	case commands.SettingApprovalEnvs:
		if len(r.Envs) == 0 {
			return textMessage("Changes in every environment now need approval.")
		}
		envs := make([]string, len(r.Envs))
		for i, e := range r.Envs {
			envs[i] = code(e)
		}
		return textMessage("Changes now need approval only in " + strings.Join(envs, ", ") + "; changes elsewhere apply at once and are still posted.")
	}
	if r.Value == "" {
		return textMessage("Setting " + code(string(r.Setting)) + " is now cleared.")
	}
	return textMessage("Setting " + code(string(r.Setting)) + " is now " + code(r.Value) + ".")
}

func renderStatus(r commands.StatusResult) Message {
	if !r.Connected {
		return textMessage("This workspace is not connected to LaunchDarkly yet. An admin can run `/flag connect`.")
	}
	i := r.Info
	s := ":white_check_mark: Connected to LaunchDarkly as " + tokenPhrase(i) + "."
	tok := "_unnamed_"
	if i.TokenName != "" {
		tok = oneLine(i.TokenName)
	}
	role := roleLabel(i.Role)
	if i.Role == commands.RoleReader {
		role += " (read-only)"
	}
	proj, env := "_none_", "_none_"
	if i.DefaultProject != "" {
		proj = code(i.DefaultProject)
	}
	if i.DefaultEnv != "" {
		env = code(i.DefaultEnv)
	}
	by := mention(i.ConnectedBy)
	if !i.ConnectedAt.IsZero() {
		by += ", " + slackDate(i.ConnectedAt)
	}
	fields := []string{
		"*Token*\n" + tok + " " + code("…"+i.Last4),
		"*Role*\n" + role,
		"*Default project*\n" + proj,
		"*Default environment*\n" + env,
		"*Connected by*\n" + by,
	}
	if u := safeURL(r.BaseURL); u != "" {
		fields = append(fields, "*LaunchDarkly*\n"+link(u, strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")))
	}
	blocks := []slack.Block{sectionBlock(s), fieldsBlock(fields...)}
	if i.Role == commands.RoleReader {
		blocks = append(blocks, contextBlock(":information_source: "+readerNote))
	}
	return Message{Text: s, Blocks: blocks}
}

// ---- projects and environments ----

func renderProjects(r commands.ProjectsResult) Message {
	if len(r.Projects) == 0 {
		return textMessage("The connected token can't see any LaunchDarkly projects.")
	}
	lines := make([]string, 0, len(r.Projects))
	for _, p := range r.Projects {
		l := code(p.Key) + nameSuffix(p.Name, p.Key)
		if p.Key == r.DefaultProject {
			l += " · _default_"
		}
		l += tagSuffix(p.Tags)
		lines = append(lines, l)
	}
	blocks := []slack.Block{headerBlock("LaunchDarkly projects")}
	blocks = append(blocks, listSections(lines)...)
	foot := countNoun(len(r.Projects), "project", "projects") + ". Change the default with `/flag config project &lt;key&gt;`."
	blocks = append(blocks, contextBlock(foot))
	return Message{Text: countNoun(len(r.Projects), "LaunchDarkly project", "LaunchDarkly projects"), Blocks: blocks}
}

func renderEnvs(r commands.EnvsResult) Message {
	if len(r.Envs) == 0 {
		return textMessage("Project " + code(r.Project) + " has no environments.")
	}
	lines := make([]string, 0, len(r.Envs))
	for _, e := range r.Envs {
		l := code(e.Key) + nameSuffix(e.Name, e.Key)
		if e.Critical {
			l += " · :warning: critical"
		}
		if e.ApprovalSettings != nil && e.ApprovalSettings.Required {
			l += " · approvals required"
		}
		if e.Key == r.DefaultEnv {
			l += " · _default_"
		}
		lines = append(lines, l)
	}
	blocks := []slack.Block{headerBlock("Environments in " + r.Project)}
	blocks = append(blocks, listSections(lines)...)
	blocks = append(blocks, contextBlock(countNoun(len(r.Envs), "environment", "environments")+
		" in project "+code(r.Project)+". Change the default with `/flag config env &lt;key&gt;`."))
	return Message{Text: countNoun(len(r.Envs), "environment", "environments") + " in " + code(r.Project), Blocks: blocks}
}

// ---- flags ----

func onEmoji(fe ld.FlagEnvironment, ok bool) string {
	switch {
	case !ok:
		return ":grey_question:"
	case fe.On:
		return ":large_green_circle:"
	}
	return ":white_circle:"
}

func renderList(r commands.FlagListResult) Message {
	q := r.Query
	title := "Flags in " + q.Project
	if q.Env != "" {
		title += " / " + q.Env
	}
	var filters []string
	if q.Words != "" {
		filters = append(filters, "matching “"+oneLine(q.Words)+"”")
	}
	if q.Tag != "" {
		filters = append(filters, "tagged "+code(q.Tag))
	}
	if q.Archived {
		filters = append(filters, "archived")
	}
	if len(r.Flags) == 0 {
		s := "No flags in project " + code(q.Project)
		if len(filters) > 0 {
			s += " " + strings.Join(filters, ", ")
		}
		if q.Offset > 0 {
			s += " after the first " + strconv.Itoa(q.Offset)
		}
		return textMessage(s + ".")
	}

	flags := r.Flags[:min(len(r.Flags), maxListLines)]
	lines := make([]string, len(flags))
	for i, f := range flags {
		fe, ok := f.Environments[q.Env]
		var b strings.Builder
		b.WriteString(onEmoji(fe, ok))
		b.WriteByte(' ')
		b.WriteString(code(f.Key))
		b.WriteString(nameSuffix(f.Name, f.Key))
		if f.Archived {
			b.WriteString(" · _archived_")
		}
		if f.Deprecated {
			b.WriteString(" · _deprecated_")
		}
		b.WriteString(tagSuffix(f.Tags))
		lines[i] = b.String()
	}
	sections, shown := packChunks(lines, "\n", maxListBlocks)

	info := []string{"Project " + code(q.Project)}
	if q.Env != "" {
		info = append(info, ":large_green_circle: on / :white_circle: off in "+code(q.Env))
	}
	if len(filters) > 0 {
		info = append(info, strings.Join(filters, ", "))
	}
	from, to := q.Offset+1, q.Offset+shown
	showing := fmt.Sprintf("Showing %d–%d", from, to)
	if r.Total >= to {
		showing += fmt.Sprintf(" of %d", r.Total)
	}
	info = append(info, showing)

	blocks := make([]slack.Block, 0, len(sections)+3)
	blocks = append(blocks, headerBlock(title), contextBlock(strings.Join(info, " · ")))
	blocks = append(blocks, sections...)

	next := r.NextOffset
	if shown < len(r.Flags) {
		next = q.Offset + shown
	}
	if next > 0 {
		nq := q
		nq.Offset = next
		if v := EncodeListCursor(nq); v != "" {
			btn := slack.NewButtonBlockElement(string(ActionNextPage), v, plainText("Next page"))
			blocks = append(blocks, slack.NewActionBlock("", btn))
		}
	}
	text := fmt.Sprintf("Flags in %s: %s", code(q.Project), showing)
	return Message{Text: text, Blocks: blocks}
}

// renderShow builds its texts in strings.Builders: /flag show is the most
// used command, and allocations were most of its cost.
func renderShow(r commands.FlagResult) Message {
	f := r.Flag
	fe, ok := f.Environments[r.Env]
	blocks := make([]slack.Block, 0, 12)
	var b strings.Builder
	b.Grow(256)

	writeCode(&b, f.Key)
	if f.Kind != "" {
		b.WriteString(" · ")
		b.WriteString(esc(capitalize(f.Kind)))
	}
	if f.Temporary {
		b.WriteString(" · temporary")
	} else {
		b.WriteString(" · permanent")
	}
	if f.Archived {
		b.WriteString(" · :file_cabinet: *archived*")
	}
	if f.Deprecated {
		b.WriteString(" · :warning: *deprecated*")
	}
	blocks = append(blocks, headerBlock(nameOr(f.Name, f.Key)), sectionBlock(b.String()))
	if d := strings.TrimSpace(f.Description); d != "" {
		blocks = append(blocks, sectionBlock(esc(d)))
	}

	if len(f.Variations) > 0 {
		b.Reset()
		b.WriteString("*Variations*")
		for i := range f.Variations[:min(len(f.Variations), maxVariations)] {
			b.WriteString("\n`")
			b.WriteString(strconv.Itoa(i))
			b.WriteString("` ")
			writeVariation(&b, f, i)
		}
		if n := len(f.Variations) - maxVariations; n > 0 {
			fmt.Fprintf(&b, "\n…and %d more", n)
		}
		blocks = append(blocks, sectionBlock(b.String()))
	}
	blocks = append(blocks, slack.NewDividerBlock())

	text := "Flag " + code(f.Key)
	if ok {
		envCode := code(r.Env)
		b.Reset()
		b.WriteString("*In ")
		b.WriteString(oneLine(nameOr(fe.EnvironmentName, r.Env)))
		b.WriteString("* (")
		b.WriteString(envCode)
		b.WriteString(")")
		if u := siteURL(r.BaseURL, fe.Site.Href); u != "" {
			b.WriteString(" · ")
			b.WriteString(link(u, "Open in LaunchDarkly"))
		}
		title := b.String()
		state, onOff := ":white_circle: Off", "off"
		if fe.On {
			state, onOff = ":large_green_circle: On", "on"
		}
		text += " is " + onOff + " in " + envCode
		targets := 0
		for _, t := range fe.Targets {
			targets += len(t.Values)
		}
		for _, t := range fe.ContextTargets {
			targets += len(t.Values)
		}
		fields := make([]string, 0, 7)
		fields = append(fields, "*Status*\n"+state)
		b.Reset()
		b.WriteString("*Default rule*\n")
		writeServe(&b, f, fe.Fallthrough)
		fields = append(fields, b.String())
		b.Reset()
		b.WriteString("*When off*\n")
		if fe.OffVariation != nil {
			writeVariation(&b, f, *fe.OffVariation)
		} else {
			b.WriteString("_not set_")
		}
		fields = append(fields, b.String(),
			"*Individual targets*\n"+strconv.Itoa(targets),
			"*Rules*\n"+strconv.Itoa(len(fe.Rules)))
		b.Reset()
		b.WriteString("*Prerequisites*\n")
		if len(fe.Prerequisites) == 0 {
			b.WriteString("None")
		}
		for i, p := range fe.Prerequisites[:min(len(fe.Prerequisites), maxPrerequisites)] {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(code(p.Key))
			b.WriteString(" serves variation ")
			b.WriteString(strconv.Itoa(p.Variation))
		}
		if n := len(fe.Prerequisites) - maxPrerequisites; n > 0 {
			fmt.Fprintf(&b, "\n…and %d more", n)
		}
		fields = append(fields, b.String())
		if fe.LastModified != 0 {
			fields = append(fields, "*Last modified*\n"+slackDate(time.UnixMilli(fe.LastModified)))
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(title), textObjects(fields), nil))
		if len(fe.Rules) > 0 {
			b.Reset()
			b.WriteString("*Rules in ")
			b.WriteString(envCode)
			b.WriteString("*")
			for i, rule := range fe.Rules[:min(len(fe.Rules), maxRules)] {
				n := strconv.Itoa(i + 1)
				b.WriteByte('\n')
				b.WriteString(n)
				b.WriteString(". ")
				if rule.Description != "" {
					b.WriteString(oneLine(truncPlain(rule.Description, maxNameRunes)))
				} else {
					b.WriteString("Rule ")
					b.WriteString(n)
				}
				b.WriteString(" → ")
				writeServe(&b, f, &ld.VariationOrRollout{Variation: rule.Variation, Rollout: rule.Rollout})
			}
			if n := len(fe.Rules) - maxRules; n > 0 {
				fmt.Fprintf(&b, "\n…and %d more", n)
			}
			blocks = append(blocks, sectionBlock(b.String()))
		}
	} else if r.Env != "" {
		blocks = append(blocks, contextBlock("LaunchDarkly returned no configuration for "+code(r.Env)+"."))
	}

	if len(f.Environments) > 0 {
		keys := sortedKeys(f.Environments)
		b.Reset()
		b.WriteString("*All environments*")
		for _, k := range keys {
			e := f.Environments[k]
			b.WriteByte('\n')
			b.WriteString(onEmoji(e, true))
			b.WriteByte(' ')
			writeCode(&b, k)
			b.WriteString(nameSuffix(e.EnvironmentName, k))
			if e.On {
				b.WriteString(" · on")
			} else {
				b.WriteString(" · off")
			}
		}
		if runeLen(b.String()) <= MaxSectionText {
			blocks = append(blocks, sectionBlock(b.String()))
		} else {
			sections, _ := packChunks(strings.Split(b.String(), "\n"), "\n", 10)
			blocks = append(blocks, sections...)
		}
	}

	b.Reset()
	if m := f.Maintainer; m != nil {
		if who := memberName(m); who != "" {
			b.WriteString("Maintainer: ")
			b.WriteString(who)
		}
	}
	if len(f.Tags) > 0 {
		if b.Len() > 0 {
			b.WriteString(" · ")
		}
		b.WriteString("Tags:")
		writeTags(&b, f.Tags)
	}
	if f.CreationDate != 0 {
		if b.Len() > 0 {
			b.WriteString(" · ")
		}
		b.WriteString("Created ")
		b.WriteString(slackDate(time.UnixMilli(f.CreationDate)))
	}
	if b.Len() > 0 {
		blocks = append(blocks, contextBlock(b.String()))
	}
	return Message{Text: text + ".", Blocks: blocks}
}

// writeVariation names variation i of f: its name, if any, and its value.
func writeVariation(b *strings.Builder, f ld.Flag, i int) {
	if i < 0 || i >= len(f.Variations) {
		b.WriteString("variation ")
		b.WriteString(strconv.Itoa(i))
		return
	}
	v := f.Variations[i]
	if v.Name != "" {
		b.WriteString(oneLine(truncPlain(v.Name, maxNameRunes)))
		b.WriteByte(' ')
	}
	writeCode(b, truncPlain(compactJSON(v.Value), maxValueRunes))
}

// writeServe describes what a fallthrough or rule serves.
func writeServe(b *strings.Builder, f ld.Flag, vr *ld.VariationOrRollout) {
	switch {
	case vr == nil:
		b.WriteString("_not set_")
	case vr.Variation != nil:
		writeVariation(b, f, *vr.Variation)
	case vr.Rollout != nil:
		b.WriteString("Rollout: ")
		for i, wv := range vr.Rollout.Variations {
			if i > 0 {
				b.WriteString(", ")
			}
			writePercent(b, wv.Weight)
			b.WriteByte(' ')
			writeVariation(b, f, wv.Variation)
		}
		kind, by := vr.Rollout.ContextKind, vr.Rollout.BucketBy
		if kind != "" || by != "" {
			b.WriteString(" (by ")
			if kind != "" {
				b.WriteString(code(kind))
			}
			if by != "" {
				if kind != "" {
					b.WriteByte(' ')
				}
				b.WriteString(code(by))
			}
			b.WriteByte(')')
		}
	default:
		b.WriteString("_not set_")
	}
}

// percent formats a rollout weight (thousandths of a percent) as a
// percentage with up to three decimals: 25000 → 25%, 12345 → 12.345%.
func percent(w int) string {
	var b strings.Builder
	writePercent(&b, w)
	return b.String()
}

func writePercent(b *strings.Builder, w int) {
	if w < 0 {
		b.WriteByte('-')
		w = -w
	}
	b.WriteString(strconv.Itoa(w / 1000))
	if frac := w % 1000; frac != 0 {
		digits := []byte{'0' + byte(frac/100), '0' + byte(frac/10%10), '0' + byte(frac%10)}
		for len(digits) > 0 && digits[len(digits)-1] == '0' {
			digits = digits[:len(digits)-1]
		}
		b.WriteByte('.')
		b.Write(digits)
	}
	b.WriteByte('%')
}

// ---- segments ----

func segmentCounts(s ld.Segment) (included, excluded int) {
	included, excluded = len(s.Included), len(s.Excluded)
	for _, t := range s.IncludedContexts {
		included += len(t.Values)
	}
	for _, t := range s.ExcludedContexts {
		excluded += len(t.Values)
	}
	return included, excluded
}

func renderSegments(r commands.SegmentsResult) Message {
	where := code(r.Env) + " of project " + code(r.Project)
	if len(r.Segments) == 0 {
		return textMessage("No segments in " + where + ".")
	}
	lines := make([]string, 0, len(r.Segments))
	for _, s := range r.Segments {
		in, ex := segmentCounts(s)
		l := code(s.Key) + nameSuffix(s.Name, s.Key)
		if s.Unbounded {
			l += " · big segment"
		} else {
			l += fmt.Sprintf(" · %d included · %d excluded", in, ex)
		}
		l += " · " + countNoun(len(s.Rules), "rule", "rules")
		lines = append(lines, l)
	}
	blocks := []slack.Block{headerBlock("Segments in " + r.Project + " / " + r.Env)}
	blocks = append(blocks, listSections(lines)...)
	blocks = append(blocks, contextBlock(countNoun(len(r.Segments), "segment", "segments")+" in "+where+
		". See one with `/flag segment &lt;key&gt;`."))
	return Message{Text: countNoun(len(r.Segments), "segment", "segments") + " in " + where, Blocks: blocks}
}

func renderSegment(r commands.SegmentResult) Message {
	s := r.Segment
	in, ex := segmentCounts(s)
	top := code(s.Key)
	if s.Unbounded {
		top += " · big segment (members are stored outside flag data, so they are not counted here)"
	}
	if d := strings.TrimSpace(s.Description); d != "" {
		top += "\n" + esc(d)
	}
	fields := []string{"*Rules*\n" + strconv.Itoa(len(s.Rules))}
	if !s.Unbounded {
		fields = append([]string{"*Included*\n" + strconv.Itoa(in), "*Excluded*\n" + strconv.Itoa(ex)}, fields...)
	}
	if s.LastModifiedDate != 0 {
		fields = append(fields, "*Last modified*\n"+slackDate(time.UnixMilli(s.LastModifiedDate)))
	}
	if len(s.Tags) > 0 {
		fields = append(fields, "*Tags*\n"+strings.TrimSpace(tagList(s.Tags)))
	}
	blocks := []slack.Block{
		headerBlock(nameOr(s.Name, s.Key)),
		sectionBlock(top),
		fieldsBlock(fields...),
	}
	if len(s.Flags) > 0 {
		lines := []string{"*Used by " + countNoun(len(s.Flags), "flag", "flags") + "*"}
		for _, f := range s.Flags[:min(len(s.Flags), maxFlagRefs)] {
			lines = append(lines, code(f.Key)+nameSuffix(f.Name, f.Key))
		}
		if n := len(s.Flags) - maxFlagRefs; n > 0 {
			lines = append(lines, fmt.Sprintf("…and %d more", n))
		}
		blocks = append(blocks, sectionBlock(strings.Join(lines, "\n")))
	}
	where := "In " + code(r.Env) + " of project " + code(r.Project)
	blocks = append(blocks, contextBlock(where+"."))
	return Message{Text: "Segment " + code(s.Key) + ": " + countNoun(in, "context", "contexts") + " included", Blocks: blocks}
}

// ---- contexts ----

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

func renderContext(r commands.ContextResult) Message {
	id := r.Kind + ":" + r.Key
	where := code(r.Env) + " of project " + code(r.Project)
	if len(r.Records) == 0 {
		return textMessage("LaunchDarkly has not seen context " + code(id) + " in " + where + ".")
	}
	blocks := []slack.Block{headerBlock("Context " + id)}
	for _, rec := range r.Records[:min(len(r.Records), maxRecords)] {
		rid, name := contextIdentity(rec.Context)
		var lines []string
		if name != "" {
			lines = append(lines, "*"+oneLine(truncPlain(name, maxNameRunes))+"* ("+code(nameOr(rid, id))+")")
		} else {
			lines = append(lines, code(nameOr(rid, id)))
		}
		seen := "Last seen " + lastSeen(rec.LastSeen)
		if rec.ApplicationID != "" {
			seen += " by application " + code(rec.ApplicationID)
		}
		lines = append(lines, seen)
		attrs := contextAttributes(rec.Context)
		for _, a := range attrs[:min(len(attrs), maxAttributes)] {
			lines = append(lines, "• "+code(a[0])+": "+code(truncPlain(a[1], maxValueRunes)))
		}
		if n := len(attrs) - maxAttributes; n > 0 {
			lines = append(lines, fmt.Sprintf("…and %d more attributes", n))
		}
		blocks = append(blocks, sectionBlock(strings.Join(lines, "\n")))
	}
	if n := len(r.Records) - maxRecords; n > 0 {
		blocks = append(blocks, contextBlock(fmt.Sprintf("…and %d more records", n)))
	}
	blocks = append(blocks, contextBlock("In "+where+"."))
	return Message{Text: "Context " + code(id) + " in " + where, Blocks: blocks}
}

// ---- audit log ----

func auditWho(e ld.AuditEntry) string {
	if e.Member != nil {
		if who := memberName(e.Member); who != "" {
			return who
		}
	}
	if e.Token != nil && e.Token.Name != "" {
		return "token *" + oneLine(e.Token.Name) + "*"
	}
	return "LaunchDarkly"
}

func renderAudit(r commands.AuditResult) Message {
	q := r.Query
	var scope []string
	if q.Project != "" {
		scope = append(scope, "project "+code(q.Project))
	}
	if q.Flag != "" {
		scope = append(scope, "flag "+code(q.Flag))
	}
	if q.Env != "" {
		scope = append(scope, "environment "+code(q.Env))
	}
	if !r.Since.IsZero() {
		scope = append(scope, "since "+slackDate(r.Since))
	}
	if len(r.Entries) == 0 {
		s := "Nothing in the audit log"
		if len(scope) > 0 {
			s += " for " + strings.Join(scope, ", ")
		}
		return textMessage(s + ".")
	}
	chunks := make([]string, 0, len(r.Entries))
	for _, e := range r.Entries[:min(len(r.Entries), maxListLines)] {
		who := auditWho(e)
		title := mdToMrkdwn(truncPlain(strings.TrimSpace(e.Title), maxAuditTitle), r.BaseURL)
		if title == "" {
			title = strings.TrimSpace(who + " " + oneLine(e.TitleVerb) + " " + oneLine(e.Name))
		}
		lines := []string{title}
		desc := e.Description
		if desc == "" {
			desc = e.ShortDescription
		}
		if d := strings.TrimSpace(desc); d != "" {
			lines = append(lines, mdToMrkdwn(truncPlain(d, maxAuditDesc), r.BaseURL))
		}
		if strings.Contains(title, who) { // LaunchDarkly's titles usually name the member
			lines = append(lines, slackDate(time.UnixMilli(e.Date)))
		} else {
			lines = append(lines, "by "+who+" · "+slackDate(time.UnixMilli(e.Date)))
		}
		if c := strings.TrimSpace(e.Comment); c != "" {
			for _, l := range strings.Split(truncPlain(c, maxComment), "\n") {
				lines = append(lines, "> "+esc(l))
			}
		}
		chunks = append(chunks, strings.Join(lines, "\n"))
	}
	sections, shown := packChunks(chunks, "\n\n", maxListBlocks)
	info := countNoun(shown, "entry", "entries") + ", newest first"
	if len(scope) > 0 {
		info = strings.Join(scope, " · ") + " · " + info
	}
	blocks := []slack.Block{headerBlock("Audit log"), contextBlock(capitalize(info))}
	blocks = append(blocks, sections...)
	if n := len(r.Entries) - shown; n > 0 {
		blocks = append(blocks, contextBlock(fmt.Sprintf("…and %d more, narrow your search.", n)))
	}
	return Message{Text: "Audit log: " + countNoun(len(r.Entries), "entry", "entries"), Blocks: blocks}
}

// mdToMrkdwn converts LaunchDarkly's Markdown (audit titles and
// descriptions) to Slack mrkdwn: [text](url) becomes <url|text>, with
// host-relative URLs joined to base and anything but http, https and mailto
// dropped (the text stays); **bold** becomes *bold*; &, < and > are escaped
// everywhere else so the text cannot inject mentions or links.
func mdToMrkdwn(src, base string) string {
	var b strings.Builder
	b.Grow(len(src) + 16)
	for i := 0; i < len(src); {
		switch c := src[i]; c {
		case '[':
			if text, url, n, ok := parseMDLink(src[i:]); ok {
				if u := linkTarget(url, base); u != "" {
					b.WriteString(link(u, text))
				} else {
					b.WriteString(esc(text))
				}
				i += n
				continue
			}
			b.WriteByte(c)
		case '*':
			if strings.HasPrefix(src[i:], "**") {
				b.WriteByte('*')
				i += 2
				continue
			}
			b.WriteByte(c)
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteByte(c)
		}
		i++
	}
	return b.String()
}

// parseMDLink reads "[text](url)" at the start of s and returns its parts
// and length. Brackets do not nest; neither part may span lines and the URL
// has no spaces.
func parseMDLink(s string) (text, url string, n int, ok bool) {
	end := strings.IndexAny(s[1:], "[]\n")
	if end < 0 || s[1+end] != ']' {
		return "", "", 0, false
	}
	text = s[1 : 1+end]
	rest := s[2+end:]
	if !strings.HasPrefix(rest, "(") {
		return "", "", 0, false
	}
	paren, depth := -1, 0 // balanced parentheses may appear in the URL, as in CommonMark
	for j := 1; j < len(rest) && paren < 0; j++ {
		switch rest[j] {
		case ' ', '\n':
			return "", "", 0, false
		case '(':
			depth++
		case ')':
			if depth == 0 {
				paren = j
			}
			depth--
		}
	}
	if paren < 0 {
		return "", "", 0, false
	}
	url = rest[1:paren]
	if text == "" {
		text = url
	}
	return text, url, 2 + end + paren + 1, true
}

// linkTarget resolves a Markdown link target against base and returns it if
// it is http(s) or mailto, else "".
func linkTarget(u, base string) string {
	if strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") {
		return siteURL(base, u)
	}
	if strings.HasPrefix(strings.ToLower(u), "mailto:") {
		return u
	}
	return safeURL(u)
}

// ---- small helpers ----

func mrkdwn(s string) *slack.TextBlockObject {
	return &slack.TextBlockObject{Type: slack.MarkdownType, Text: s}
}

func plainText(s string) *slack.TextBlockObject {
	emoji := true
	return &slack.TextBlockObject{Type: slack.PlainTextType, Text: s, Emoji: &emoji}
}

func textObjects(mds []string) []*slack.TextBlockObject {
	out := make([]*slack.TextBlockObject, len(mds))
	for i, s := range mds {
		out[i] = mrkdwn(s)
	}
	return out
}

func headerBlock(s string) slack.Block {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		s = "…"
	}
	return slack.NewHeaderBlock(plainText(s))
}

func sectionBlock(md string) slack.Block { return slack.NewSectionBlock(mrkdwn(md), nil, nil) }

func fieldsBlock(mds ...string) slack.Block {
	return slack.NewSectionBlock(nil, textObjects(mds), nil)
}

func contextBlock(mds ...string) slack.Block {
	els := make([]slack.MixedElement, len(mds))
	for i, s := range mds {
		els[i] = mrkdwn(s)
	}
	return slack.NewContextBlock("", els...)
}

func textMessage(md string) Message {
	return Message{Text: md, Blocks: []slack.Block{sectionBlock(md)}}
}

// listSections packs list lines into sections, noting any left out.
func listSections(lines []string) []slack.Block {
	shownLines := lines[:min(len(lines), maxListLines)]
	blocks, shown := packChunks(shownLines, "\n", maxListBlocks)
	if n := len(lines) - shown; n > 0 {
		blocks = append(blocks, contextBlock(fmt.Sprintf("…and %d more, narrow your search.", n)))
	}
	return blocks
}

// packChunks joins chunks with sep into as few sections as the section text
// limit allows, using at most maxBlocks sections, and reports how many
// chunks it used. A chunk longer than a section is cut.
func packChunks(chunks []string, sep string, maxBlocks int) ([]slack.Block, int) {
	var (
		blocks []slack.Block
		b      strings.Builder
		n      int // runes in b
		used   int
	)
	for _, c := range chunks {
		c = truncMrkdwn(c, MaxSectionText)
		cl := runeLen(c)
		if b.Len() > 0 && n+len(sep)+cl > MaxSectionText {
			if len(blocks)+1 >= maxBlocks {
				break
			}
			blocks = append(blocks, sectionBlock(b.String()))
			b.Reset()
			n = 0
		}
		if b.Len() > 0 {
			b.WriteString(sep)
			n += len(sep)
		}
		b.WriteString(c)
		n += cl
		used++
	}
	if b.Len() > 0 {
		blocks = append(blocks, sectionBlock(b.String()))
	}
	return blocks, used
}

// esc escapes the three characters Slack's mrkdwn treats as control
// characters, so user or LaunchDarkly text cannot form mentions or links.
func esc(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// oneLine escapes s and folds its whitespace (newlines included) to single
// spaces.
func oneLine(s string) string {
	if strings.ContainsAny(s, "\n\r\t") {
		s = strings.Join(strings.Fields(s), " ")
	}
	return esc(s)
}

// code renders s as an inline code span: escaped, on one line, with
// backticks (which would end the span) replaced.
func code(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	writeCode(&b, s)
	return b.String()
}

func writeCode(b *strings.Builder, s string) {
	s = strings.TrimSpace(s)
	if s == "" {
		b.WriteString("_(none)_")
		return
	}
	b.WriteByte('`')
	b.WriteString(strings.ReplaceAll(oneLine(s), "`", "'"))
	b.WriteByte('`')
}

// nameSuffix returns " — name" unless name is empty or repeats key.
func nameSuffix(name, key string) string {
	name = strings.TrimSpace(name)
	if name == "" || name == key {
		return ""
	}
	return " — " + oneLine(truncPlain(name, maxNameRunes))
}

func nameOr(name, fallback string) string {
	if strings.TrimSpace(name) != "" {
		return name
	}
	return fallback
}

func tagList(tags []string) string {
	var b strings.Builder
	writeTags(&b, tags)
	return b.String()
}

func writeTags(b *strings.Builder, tags []string) {
	for _, t := range tags[:min(len(tags), maxTags)] {
		b.WriteByte(' ')
		writeCode(b, t)
	}
	if n := len(tags) - maxTags; n > 0 {
		fmt.Fprintf(b, " +%d", n)
	}
}

func tagSuffix(tags []string) string {
	if len(tags) == 0 {
		return ""
	}
	return " ·" + tagList(tags)
}

func countNoun(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func joinOr(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

func memberName(m *ld.Member) string {
	if n := strings.TrimSpace(m.FirstName + " " + m.LastName); n != "" {
		return oneLine(n)
	}
	return oneLine(m.Email)
}

// mention formats a Slack user ID as a mention; anything that does not look
// like a user ID is shown escaped instead.
func mention(id string) string {
	if id == "" {
		return "someone"
	}
	if len(id) > 32 || (id[0] != 'U' && id[0] != 'W') {
		return esc(id)
	}
	for i := 1; i < len(id); i++ {
		if c := id[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return esc(id)
		}
	}
	return "<@" + id + ">"
}

// slackDate formats t with Slack's date token, shown in each reader's time
// zone, with a UTC fallback for clients that cannot.
func slackDate(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

// safeURL returns u if it is an absolute http(s) URL, else "".
func safeURL(u string) string {
	l := strings.ToLower(u)
	if (strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")) && !strings.ContainsAny(u, " \n") {
		return u
	}
	return ""
}

// siteURL joins a host-relative LaunchDarkly UI link to base.
func siteURL(base, href string) string {
	if href == "" {
		return ""
	}
	if u := safeURL(href); u != "" {
		return u
	}
	b := safeURL(base)
	if b == "" || !strings.HasPrefix(href, "/") || strings.HasPrefix(href, "//") {
		return ""
	}
	return strings.TrimRight(b, "/") + href
}

// link formats a mrkdwn link; the URL is escaped and may not contain "|".
func link(u, text string) string {
	u = strings.ReplaceAll(esc(u), "|", "%7C")
	return "<" + u + "|" + oneLine(text) + ">"
}

func compactJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "null"
	}
	if !bytes.ContainsAny(raw, " \t\r\n") {
		return string(raw) // already compact: the usual case
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

func jsonString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
