package playground

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldfake"
	"github.com/flagbot/flagbot/internal/slackfake"
)

// staticFiles is the page: index.html (a template), app.css and app.js.
// It is the package's one package-level variable, as embed requires, and
// read-only.
//
//go:embed static
var staticFiles embed.FS

// Timing of the live updates.
const (
	heartbeat   = 15 * time.Second      // an SSE comment keeps proxies and browsers from timing out
	coalesce    = 25 * time.Millisecond // changes this close together render once
	maxBody     = 64 << 10              // API request bodies
	actionLimit = 10 * time.Second      // one person's action, ack waits included
	auditShown  = 15                    // audit-log entries in the panel
)

// Options tune a Server; the zero value is valid.
type Options struct {
	// Logger receives request problems (default: discard).
	Logger *slog.Logger
	// Now is the clock for relative dates (default time.Now).
	Now func() time.Time
	// AllowAnyHost accepts any Host header. By default only loopback
	// names are accepted, so a web page elsewhere cannot reach the
	// playground through DNS rebinding.
	AllowAnyHost bool
}

// Server is the playground page and its API.
type Server struct {
	slack  *slackfake.Server
	ld     *ldfake.Server
	demo   Demo
	render *Renderer
	log    *slog.Logger
	opts   Options
	page   string // static/index.html; index fills its {{placeholders}}
	mdLink *regexp.Regexp
}

// New returns the page for the demo on the two fakes.
func New(sl *slackfake.Server, lds *ldfake.Server, demo Demo, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	page, err := fs.ReadFile(staticFiles, "static/index.html")
	if err != nil {
		return nil, fmt.Errorf("playground: page: %w", err)
	}
	return &Server{
		slack: sl, ld: lds, demo: demo, render: NewRenderer(opts.Now), opts: opts, page: string(page),
		log:    opts.Logger.With("component", "playground"),
		mdLink: regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`),
	}, nil
}

// Handler serves the page, its assets, the event stream and the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFiles, "static")
	mux.HandleFunc("GET /{$}", s.index)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /events", s.events)
	mux.HandleFunc("POST /api/compose", s.api(s.compose))
	mux.HandleFunc("POST /api/click", s.api(s.click))
	mux.HandleFunc("POST /api/submit", s.api(s.submit))
	mux.HandleFunc("POST /api/close", s.api(s.closeView))
	mux.HandleFunc("POST /api/suggest", s.api(s.suggest))
	mux.HandleFunc("POST /api/home", s.api(s.home))
	return s.guard(mux)
}

// guard refuses foreign Host headers (DNS rebinding) and sets headers that
// keep the page from being framed or sniffed.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.opts.AllowAnyHost && !loopbackHost(r.Host) {
			http.Error(w, "the playground answers only on a loopback address", http.StatusForbidden)
			return
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, fillPage(s.page, s.demo, s.ld.Projects()))
}

// fillPage fills the placeholders of page (index.html) for demo and
// projects, escaping as html/template would (TestPageMatchesTemplate
// holds it to that). It is written by hand because text/template makes
// the linker keep every exported method of every type in the bot's
// binary, which serves the playground too.
func fillPage(page string, demo Demo, projects []ldfake.ProjectInfo) string {
	esc := strings.NewReplacer("\x00", "\uFFFD", `"`, "&#34;", "&", "&amp;", "'", "&#39;", "+", "&#43;", "<", "&lt;", ">", "&gt;").Replace
	var personas, tokens, projs strings.Builder
	for _, p := range demo.Personas {
		personas.WriteString(`<option value="` + esc(p.UserID) + `">` + esc(p.Name) + " (" + esc(p.Role) + ")</option>")
	}
	for _, t := range demo.Tokens {
		tokens.WriteString("<dt>" + esc(t.Role) + " (" + esc(t.Name) + ")</dt><dd><code>" + esc(t.Value) + "</code></dd>")
	}
	for _, p := range projects {
		projs.WriteString(`<option value="` + esc(p.Key) + `">` + esc(p.Name) + "</option>")
	}
	return strings.NewReplacer(
		"{{channel}}", esc(demo.Channel),
		"{{channel_name}}", esc(demo.ChannelName),
		"{{persona_options}}", personas.String(),
		"{{token_list}}", tokens.String(),
		"{{project_options}}", projs.String(),
	).Replace(page)
}

// item is one keyed piece of HTML the page diffs by key.
type item struct {
	Key  string `json:"key"`
	HTML string `json:"html"`
}

// state is everything the page shows for one viewer.
type state struct {
	Connected bool   `json:"connected"`
	Channel   []item `json:"channel"`
	DM        []item `json:"dm"`
	Modal     string `json:"modal"`
	Home      string `json:"home"`
	LD        string `json:"ld"`
}

func (s *Server) names() Names {
	n := Names{Users: map[string]string{"USLACKBOT": "Slackbot", slackfake.BotUserID: "Flagbot"}, Groups: map[string]string{}, Channels: map[string]string{}}
	for _, u := range s.slack.Users() {
		n.Users[u.ID] = u.RealName
	}
	for _, g := range s.slack.UserGroups() {
		n.Groups[g.ID] = g.Handle
	}
	for _, c := range s.slack.Channels() {
		n.Channels[c.ID] = c.Name
	}
	return n
}

func (s *Server) state(user string) state {
	n := s.names()
	st := state{Connected: s.slack.Connected() > 0, LD: s.ldPanel()}
	for _, m := range s.slack.Messages(s.demo.Channel, user) {
		st.Channel = append(st.Channel, item{Key: m.Key, HTML: s.message(m, n)})
	}
	for _, m := range s.slack.Messages(user, user) {
		st.DM = append(st.DM, item{Key: m.Key, HTML: s.message(m, n)})
	}
	if modals := s.slack.Modals(user); len(modals) > 0 {
		v := modals[len(modals)-1]
		st.Modal = s.render.Modal(ModalInput{ID: v.ID, JSON: v.JSON, Values: v.Values, Errors: v.Errors, Problem: v.Problem}, n)
	}
	if v, ok := s.slack.Home(user); ok {
		st.Home = `<div data-view-id="` + html.EscapeString(v.ID) + `">` + s.render.Home(v.JSON, n) + `</div>`
	}
	return st
}

// message renders one message as a list item.
func (s *Server) message(m slackfake.Message, n Names) string {
	var b strings.Builder
	cls := "msg"
	if m.VisibleTo != "" {
		cls += " msg-ephemeral"
	}
	author := n.Users[m.UserID]
	if author == "" {
		author = m.UserID
	}
	b.WriteString(`<li class="` + cls + `" data-message-key="` + html.EscapeString(m.Key) + `">`)
	b.WriteString(`<div class="msg-avatar" aria-hidden="true">` + html.EscapeString(initial(author)) + `</div><div class="msg-main"><div class="msg-head"><span class="msg-author">` + html.EscapeString(author) + `</span>`)
	if m.UserID == slackfake.BotUserID {
		b.WriteString(` <span class="msg-app">APP</span>`)
	}
	if m.Edited {
		b.WriteString(` <span class="msg-edited">(edited)</span>`)
	}
	b.WriteString(`</div>`)
	if m.VisibleTo != "" {
		b.WriteString(`<div class="msg-only-you">Only visible to you</div>`)
	}
	b.WriteString(`<div class="msg-body">`)
	if len(m.Blocks) > 0 && string(m.Blocks) != "[]" {
		b.WriteString(s.render.Blocks(m.Blocks, n))
	} else {
		b.WriteString(`<div class="sk-text">` + s.render.Mrkdwn(m.Text, n) + `</div>`)
	}
	b.WriteString(`</div>`)
	for _, u := range m.Unfurls {
		b.WriteString(`<div class="msg-unfurl" data-unfurl-url="` + html.EscapeString(u.URL) + `">` + s.render.Blocks(u.Blocks, n) + `</div>`)
	}
	b.WriteString(`</div></li>`)
	return b.String()
}

func initial(name string) string {
	for _, r := range name {
		return strings.ToUpper(string(r))
	}
	return "?"
}

// ldPanel renders the LaunchDarkly side: per project, flags with on/off per
// environment, and the newest audit-log entries.
func (s *Server) ldPanel() string {
	var b strings.Builder
	for _, p := range s.ld.Projects() {
		pk := html.EscapeString(p.Key)
		b.WriteString(`<section class="ld-project" data-project="` + pk + `"><table class="ld-flags"><caption>Flags in ` + html.EscapeString(p.Name) + `</caption><thead><tr><th scope="col">Flag</th>`)
		for _, e := range p.Environments {
			crit := ""
			if e.Critical {
				crit = ` <span class="ld-critical" title="critical environment">critical</span>`
			}
			b.WriteString(`<th scope="col">` + html.EscapeString(e.Name) + crit + `</th>`)
		}
		b.WriteString(`</tr></thead><tbody>`)
		for _, f := range s.ld.Flags(p.Key) {
			if f.Archived {
				continue
			}
			b.WriteString(`<tr data-flag="` + html.EscapeString(f.Key) + `"><th scope="row"><span class="ld-name">` + html.EscapeString(f.Name) + `</span> <code>` + html.EscapeString(f.Key) + `</code></th>`)
			for _, e := range p.Environments {
				fe, ok := f.Environments[e.Key]
				state, cls := "Off", "ld-off"
				if ok && fe.On {
					state, cls = "On", "ld-on"
				}
				b.WriteString(`<td data-env="` + html.EscapeString(e.Key) + `" class="` + cls + `">` + state + `</td>`)
			}
			b.WriteString(`</tr>`)
		}
		b.WriteString(`</tbody></table></section>`)
	}
	b.WriteString(`<h3 class="ld-audit-title">Audit log</h3><ol class="ld-audit">`)
	for _, e := range s.ld.AuditLog(auditShown) {
		b.WriteString(`<li><time datetime="` + time.UnixMilli(e.Date).UTC().Format(time.RFC3339) + `">` + html.EscapeString(time.UnixMilli(e.Date).UTC().Format("Jan 2 15:04")) + `</time> ` +
			html.EscapeString(s.auditTitle(e)))
		if e.Comment != "" {
			b.WriteString(`<div class="ld-comment">` + html.EscapeString(e.Comment) + `</div>`)
		}
		b.WriteString(`</li>`)
	}
	b.WriteString(`</ol>`)
	return b.String()
}

// auditTitle is an entry's Markdown title as plain text.
func (s *Server) auditTitle(e ld.AuditEntry) string {
	t := e.Title
	if t == "" {
		t = e.Name + ": " + e.TitleVerb
	}
	return strings.ReplaceAll(s.mdLink.ReplaceAllString(t, "$1"), "`", "")
}

// events streams the page state for one viewer as Server-Sent Events: a
// "state" event whenever what they see changed.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	if _, ok := s.slack.LookupUser(user); !ok {
		http.Error(w, "unknown user", http.StatusBadRequest)
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	ticker := time.NewTicker(heartbeat)
	defer ticker.Stop()
	var last []byte
	for {
		slackChanged, ldChanged := s.slack.Changed(), s.ld.Changed()
		data, err := json.Marshal(s.state(user))
		if err != nil {
			s.log.Error("encode state", "err", err)
			return
		}
		if !bytes.Equal(data, last) {
			if _, err := fmt.Fprintf(w, "event: state\ndata: %s\n\n", data); err != nil {
				return
			}
			flusher.Flush()
			last = data
		}
		select {
		case <-r.Context().Done():
			return
		case <-slackChanged:
		case <-ldChanged:
		case <-ticker.C:
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil {
				return
			}
			flusher.Flush()
			continue
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(coalesce):
		}
	}
}

// api decodes a JSON request into fn's argument type and answers with
// fn's result as JSON. Requests must be JSON and carry X-Playground: 1,
// which a form on another site cannot send without a CORS preflight.
func (s *Server) api(fn func(ctx context.Context, req apiRequest) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Playground") != "1" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			http.Error(w, "send JSON with X-Playground: 1", http.StatusBadRequest)
			return
		}
		var req apiRequest
		dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
		if err := dec.Decode(&req); err != nil {
			http.Error(w, "bad JSON", http.StatusBadRequest)
			return
		}
		if _, ok := s.slack.LookupUser(req.User); !ok {
			http.Error(w, "unknown user", http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), actionLimit)
		defer cancel()
		out, err := fn(ctx, req)
		if err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, slackfake.ErrNotFound) {
				status = http.StatusNotFound
			}
			s.log.Info("playground action failed", "user_id", req.User, "err", err)
			http.Error(w, err.Error(), status)
			return
		}
		if out == nil {
			out = map[string]any{"ok": true}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}
}

// apiRequest is the body of every API call; each uses what it needs.
type apiRequest struct {
	User       string                       `json:"user"`
	Text       string                       `json:"text"`
	MessageKey string                       `json:"message_key"`
	ViewID     string                       `json:"view_id"`
	BlockID    string                       `json:"block_id"`
	ActionID   string                       `json:"action_id"`
	Value      string                       `json:"value"`
	OptionText string                       `json:"option_text"`
	Values     map[string]map[string]string `json:"values"`
}

func (s *Server) compose(_ context.Context, req apiRequest) (any, error) {
	return nil, s.slack.Compose(req.User, s.demo.Channel, req.Text)
}

func (req apiRequest) click() slackfake.Click {
	return slackfake.Click{UserID: req.User, MessageKey: req.MessageKey, ViewID: req.ViewID, BlockID: req.BlockID,
		ActionID: req.ActionID, Value: req.Value, OptionText: req.OptionText, Values: req.Values}
}

func (s *Server) click(_ context.Context, req apiRequest) (any, error) {
	return nil, s.slack.Click(req.click())
}

func (s *Server) submit(ctx context.Context, req apiRequest) (any, error) {
	return nil, s.slack.SubmitView(ctx, req.User, req.ViewID, req.Values)
}

func (s *Server) closeView(_ context.Context, req apiRequest) (any, error) {
	return nil, s.slack.CloseView(req.User, req.ViewID)
}

func (s *Server) suggest(ctx context.Context, req apiRequest) (any, error) {
	return s.slack.Suggest(ctx, req.click())
}

func (s *Server) home(_ context.Context, req apiRequest) (any, error) {
	return nil, s.slack.OpenHome(req.User)
}
