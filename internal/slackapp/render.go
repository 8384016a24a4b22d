package slackapp

import (
	"reflect"
	"strings"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
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

// Renderer turns command results into messages: one renderer function per
// result type, each in the render_<command>.go file of the command that
// produces it, listed once in NewRenderer. It is safe for concurrent use.
type Renderer struct {
	table map[reflect.Type]func(commands.Result) Message
}

// register adds the renderer of result type R to t.
func register[R commands.Result](t map[reflect.Type]func(commands.Result) Message, f func(R) Message) {
	t[reflect.TypeFor[R]()] = func(r commands.Result) Message { return f(r.(R)) }
}

// NewRenderer builds the table of renderers. Adding a command's result
// means adding its render file and one line here; a test fails for a help
// row whose results have no renderer.
func NewRenderer() *Renderer {
	t := map[reflect.Type]func(commands.Result) Message{}
	register(t, renderHelp)
	register(t, renderConnectModal)
	register(t, renderConnect)
	register(t, renderStatus)
	register(t, renderDisconnect)
	register(t, renderConfig)
	register(t, renderProjects)
	register(t, renderEnvs)
	register(t, renderList)
	register(t, renderShow)
	register(t, renderSegments)
	register(t, renderSegment)
	register(t, renderContexts)
	register(t, renderContext)
	register(t, renderAudit)
	register(t, RenderChange)
	register(t, renderPending)
	register(t, renderHistory)
	register(t, renderUndoConfirm)
	register(t, renderScheduled)
	register(t, renderNotify)
	register(t, renderDigestSubscribed)
	register(t, renderDigestList)
	register(t, renderDigestUnsubscribed)
	register(t, renderDigestNow)
	return &Renderer{table: t}
}

// Renders reports whether r's type has a renderer.
func (rd *Renderer) Renders(r commands.Result) bool {
	_, ok := rd.table[reflect.TypeOf(r)]
	return ok
}

// Result turns a command result into a message, already fitted to Slack's
// limits. A result type without a renderer (a bug the table test catches)
// becomes "Something went wrong".
func (rd *Renderer) Result(r commands.Result) Message {
	f, ok := rd.table[reflect.TypeOf(r)]
	if !ok {
		return Fit(textMessage(somethingWrong("", "")))
	}
	return Fit(f(r))
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
