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
	register(t, renderRequestModal)
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
	if n, ok := r.(commands.Noticed); ok {
		return withNotice(rd.Result(n.Result), n.Notice)
	}
	f, ok := rd.table[reflect.TypeOf(r)]
	if !ok {
		return Fit(textMessage(somethingWrong("", "")))
	}
	return Fit(f(r))
}

// withNotice puts notice above m, in a context block of its own, and
// before m's fallback text.
func withNotice(m Message, notice commands.Text) Message {
	if notice.IsZero() {
		return m
	}
	n := ":information_source: " + md(notice)
	blocks := make([]slack.Block, 0, len(m.Blocks)+1)
	blocks = append(blocks, contextBlock(n))
	blocks = append(blocks, m.Blocks...)
	return Fit(Message{Text: strings.TrimSpace(n + "\n" + m.Text), Blocks: blocks})
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
	token.DispatchActionConfig = &slack.DispatchActionConfig{TriggerActionsOn: []string{"on_enter_pressed", "on_character_entered"}}
	tokenInput := slack.NewInputBlock(string(BlockToken), plainText("LaunchDarkly access token"),
		plainText("Stored encrypted; after this it is never shown again, only its last 4 characters. "+
			"A Reader token is read-only; a Writer token also lets Flagbot make changes."),
		token)
	tokenInput.DispatchAction = true
	blocks := []slack.Block{
		sectionBlock("Paste a LaunchDarkly API access token (*Organization settings → Authorization*). " +
			"Flagbot checks it with LaunchDarkly before saving it, and offers the projects and environments it sees."),
		tokenInput,
	}
	if m.Checked {
		blocks = append(blocks, contextBlock(":white_check_mark: LaunchDarkly knows this token: "+tokenPhrase(commands.ConnectionInfo{TokenName: m.TokenName, Role: m.Role})+
			". Left alone, the defaults below are Flagbot's choice."))
	}
	if m.Checked && len(m.Projects) > 0 && len(m.Projects) <= MaxOptions {
		opts := make([]*slack.OptionBlockObject, 0, len(m.Projects))
		var initial *slack.OptionBlockObject
		for _, p := range m.Projects {
			label := p.Key
			if p.Name != "" && p.Name != p.Key {
				label = p.Name + " · " + p.Key
			}
			o := option(label, p.Key)
			opts = append(opts, o)
			if p.Key == m.DefaultProject {
				initial = o
			}
		}
		sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plainText("Choose a project"), string(ActionProjectPick), opts...)
		sel.InitialOption = initial
		in := slack.NewInputBlock(string(BlockProject), plainText("Default project"), plainText("Used when a command names no project."), sel).WithOptional(true)
		in.DispatchAction = true
		blocks = append(blocks, in)
		envOpts := []*slack.OptionBlockObject{option("No default environment", noDefaultEnv)}
		initial = envOpts[0]
		for _, e := range m.Envs[:min(len(m.Envs), MaxOptions-1)] {
			label := e.Key
			if e.Name != "" && e.Name != e.Key {
				label = e.Name + " · " + e.Key
			}
			if e.Critical {
				label += " · critical"
			}
			o := option(label, e.Key)
			envOpts = append(envOpts, o)
			if e.Key == m.DefaultEnv {
				initial = o
			}
		}
		env := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plainText("Choose an environment"), string(ActionEnvPick), envOpts...)
		env.InitialOption = initial
		blocks = append(blocks, slack.NewInputBlock(string(BlockEnv), plainText("Default environment"),
			plainText("Used when a command names no environment."), env).WithOptional(true))
	} else {
		project := slack.NewPlainTextInputBlockElement(plainText("e.g. default"), string(ActionProject)).
			WithInitialValue(m.DefaultProject).WithMaxLength(100)
		env := slack.NewPlainTextInputBlockElement(plainText("e.g. production"), string(ActionEnv)).
			WithInitialValue(m.DefaultEnv).WithMaxLength(100)
		blocks = append(blocks,
			slack.NewInputBlock(string(BlockProject), plainText("Default project key"),
				plainText("Used when a command names no project. Left empty, Flagbot picks one: the only project, the one with key default, or the first by name."), project).WithOptional(true),
			slack.NewInputBlock(string(BlockEnv), plainText("Default environment key"),
				plainText("Used when a command names no environment. Left empty, Flagbot picks production, or the first critical one."), env).WithOptional(true))
	}
	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		Title:      plainText("Connect LaunchDarkly"),
		Submit:     plainText("Connect"),
		Close:      plainText("Cancel"),
		CallbackID: string(CallbackConnect),
		Blocks:     slack.Blocks{BlockSet: blocks},
	}
}
