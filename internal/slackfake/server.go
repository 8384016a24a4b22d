package slackfake

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Identities the fake answers with. Payloads built by the helpers default to
// TeamID when no team is given.
const (
	AppID     = "A0FLAGBOT" // api_app_id in payloads and hello
	TeamID    = "T0FLAG"    // auth.test team_id
	BotUserID = "U0BOT"     // auth.test user_id
	BotID     = "B0BOT"     // auth.test bot_id

	// DefaultAppToken and DefaultBotToken are used when Options leaves the
	// tokens empty.
	DefaultAppToken = "xapp-1-slackfake"
	DefaultBotToken = "xoxb-slackfake"

	// AckSizeLimit is the size at which Slack drops a Socket Mode response
	// (20 KB, measured by slack-go's maintainers). See Ack.TooLarge.
	AckSizeLimit = 20 * 1024

	// ResponseURLUses is how many posts one response_url accepts.
	ResponseURLUses = 5
)

const (
	defaultPingInterval = 100 * time.Millisecond // well inside any client watchdog a test would set
	defaultSendTimeout  = 5 * time.Second        // how long an envelope waits for a live connection
	defaultTriggerTTL   = 3 * time.Second        // Slack's trigger_id lifetime
	writeTimeout        = 5 * time.Second        // per WebSocket write
	maxBodyBytes        = 4 << 20                // request bodies are read up to this size
)

// Options configures a Server. The zero value is valid.
type Options struct {
	// Addr is the loopback host:port Start listens on. Default
	// "127.0.0.1:0" (any free port); a non-loopback address is refused.
	Addr string
	// AppToken is the xapp- token apps.connections.open requires as a
	// Bearer header. Default DefaultAppToken.
	AppToken string
	// BotToken is the xoxb- token every other Web API method requires,
	// as a Bearer header or a "token" form field, of the default
	// installation (TeamID), which may act in any workspace. Tokens of
	// further installations come from Install or the OAuth flow (see
	// install.go). Default DefaultBotToken.
	BotToken string
	// ClientID and ClientSecret are the app's OAuth credentials, which the
	// authorize page and oauth.v2.access check. Defaults DefaultClientID and
	// DefaultClientSecret.
	ClientID     string
	ClientSecret string
	// PingInterval is how often the server sends WebSocket pings on each
	// connection. It must be shorter than the client's ping watchdog
	// (socketmode.OptionPingInterval). Default 100ms.
	PingInterval time.Duration
	// SendTimeout is how long SlashCommand, Interactive and the other
	// senders wait for a live connection before failing. Default 5s.
	SendTimeout time.Duration
	// MaxRecords, when positive, bounds what the fake remembers for
	// inspection: Acks, Calls and Responses keep about the newest
	// MaxRecords each, and AllTraffic about the newest MaxRecords KB. A
	// long-running playground sets it; tests leave it 0 (keep everything).
	MaxRecords int
	// OnAck, if set, is called with every ack as it arrives, outside the
	// server's lock: for a load benchmark that must not scan the records.
	OnAck func(Ack)
	// OnCall, if set, is called with every Web API call once it is
	// recorded and answered, outside the server's lock: for a load
	// benchmark that waits for the bot's posts and edits without scanning
	// the records.
	OnCall func(Call)
	// ConnState, if set, is the HTTP server's http.Server.ConnState hook
	// (to count the connections clients open).
	ConnState func(net.Conn, http.ConnState)
	// TriggerTTL is how long a trigger_id issued by the fake stays valid
	// for views.open and views.push, counted from when its envelope was
	// written to the socket. Default 3s, like Slack; negative disables the
	// expiry check (single use is still enforced).
	TriggerTTL time.Duration
}

// Server is a running fake Slack. Create it with Start (and Close it) or,
// in tests, with New. All methods are safe for concurrent use.
type Server struct {
	opts     Options
	url      string // http://127.0.0.1:port
	hs       *http.Server
	ln       net.Listener
	served   chan struct{} // closed when hs.Serve returned
	upgrader websocket.Upgrader
	wg       sync.WaitGroup // connection goroutines
	sent     sentTimes      // when each envelope was written, until acked
	done     chan struct{}  // closed by close

	mu           sync.Mutex
	changed      chan struct{} // closed and replaced on every recorded change
	closed       bool
	delay        time.Duration // SetDelay
	conns        []*wsConn     // live connections, oldest first
	opens        int
	tickets      int
	openTickets  map[string]bool // issued by apps.connections.open, not yet used
	connSeq      int
	envelopeSeq  int
	responseSeq  int
	responseUses map[string]int // response_url id -> accepted posts
	triggerSeq   int
	triggerRun   string // random per server: trigger IDs never repeat across runs, as Slack's do not
	triggers     map[string]*trigger
	tsSeq        int
	viewSeq      int
	users        map[string]User
	groups       map[string][]string
	failures     map[string]*failure
	acks         []Ack
	calls        []Call
	responses    []Response
	// Records dropped from the front of acks, calls and responses under
	// MaxRecords; waitFor counts positions across drops.
	acksDropped, callsDropped, responsesDropped int
	traffic                                     bytes.Buffer
	ws                                          *workspace

	// Installations (install.go): workspaces, issued tokens, pending
	// authorizations and codes, and what envelopes showed of channels and
	// users.
	teams     map[string]Team
	installs  map[string]*install // by bot token
	tokenSeq  int
	nextAuth  []Authorization
	codes     map[string]*oauthCode
	codeSeq   int
	chanTeams map[string]map[string]bool // channel -> teams whose envelopes came from it
	userSeen  map[string]map[string]bool // user -> teams whose envelopes they sent
}

type trigger struct {
	sent time.Time // zero until its envelope reached a socket
	used bool
	user string // whose action issued it: views.open shows the modal to them
	team string // the workspace of that action, "" when unknown
}

type failure struct {
	n   int
	err string
}

// TB is the part of testing.TB that New uses; *testing.T, *testing.B and
// *testing.F satisfy it. (The package does not import testing: the
// playground links it into the bot's binary.)
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// New starts a fake Slack on 127.0.0.1 for a test. It is closed, with every
// WebSocket and goroutine it started, through t.Cleanup.
func New(t TB, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("%v", err)
		return nil
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a fake Slack on opts.Addr (a loopback address). Close stops
// it.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if !isLoopback(opts.Addr) {
		return nil, fmt.Errorf("slackfake: %q is not a loopback address", opts.Addr)
	}
	if opts.AppToken == "" {
		opts.AppToken = DefaultAppToken
	}
	if opts.BotToken == "" {
		opts.BotToken = DefaultBotToken
	}
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = defaultPingInterval
	}
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = defaultSendTimeout
	}
	if opts.TriggerTTL == 0 {
		opts.TriggerTTL = defaultTriggerTTL
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("slackfake: listen: %w", err)
	}
	var run [6]byte
	_, _ = rand.Read(run[:]) // crypto/rand.Read never fails (it crashes the program instead)
	s := &Server{
		opts:         opts,
		triggerRun:   hex.EncodeToString(run[:]),
		url:          "http://" + ln.Addr().String(),
		ln:           ln,
		served:       make(chan struct{}),
		upgrader:     websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
		done:         make(chan struct{}),
		changed:      make(chan struct{}),
		responseUses: make(map[string]int),
		openTickets:  make(map[string]bool),
		triggers:     make(map[string]*trigger),
		users:        make(map[string]User),
		groups:       make(map[string][]string),
		failures:     make(map[string]*failure),
		ws:           newWorkspace(),
		teams:        map[string]Team{TeamID: {ID: TeamID, Name: "Flagbot Test"}},
		installs: map[string]*install{opts.BotToken: {
			Installation: Installation{TeamID: TeamID, BotUserID: BotUserID, Token: opts.BotToken}, legacy: true,
		}},
		codes:     make(map[string]*oauthCode),
		chanTeams: make(map[string]map[string]bool),
		userSeen:  make(map[string]map[string]bool),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/{method}", s.delayed(s.handleAPI))
	mux.HandleFunc("GET /api/{method}", s.delayed(s.handleAPI))
	mux.HandleFunc("GET /ws", s.handleWS)
	mux.HandleFunc("POST /response_url/{id}", s.delayed(s.handleResponseURL))
	mux.HandleFunc("GET /oauth/v2/authorize", s.handleAuthorize)
	s.hs = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ConnState: opts.ConnState}
	go func() {
		defer close(s.served)
		_ = s.hs.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	return s, nil
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// URL is the server's base URL, "http://127.0.0.1:port".
func (s *Server) URL() string { return s.url }

// APIURL is the Web API base for slack.OptionAPIURL; it ends with "/api/".
func (s *Server) APIURL() string { return s.url + "/api/" }

// Close stops the server: it fails pending waits, closes every WebSocket,
// shuts the HTTP server down and waits for the connection goroutines. It
// may be called more than once.
func (s *Server) Close() { s.close() }

// close stops the server: it fails pending waits, closes every WebSocket,
// shuts the HTTP server down and waits for the connection goroutines.
func (s *Server) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	conns := slices.Clone(s.conns)
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.ws.Close()
	}
	_ = s.hs.Close()
	<-s.served
	s.wg.Wait()
}

// notifyLocked wakes every waiter. s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// User is a Slack user as users.info reports it.
type User struct {
	ID     string
	TeamID string // default TeamID; another team's ID for a Slack Connect partner
	// EnterpriseID is the user's Enterprise Grid org (users.info's
	// enterprise_user), "" outside one.
	EnterpriseID string
	Name         string
	RealName     string
	IsAdmin      bool
	IsOwner      bool
	Deleted      bool
	TZ           string
	// IsRestricted marks a guest (a multi-channel guest; with
	// IsUltraRestricted a single-channel guest).
	IsRestricted      bool
	IsUltraRestricted bool
	Email             string
	Title             string
}

// SetUser adds or replaces a user; users.info answers user_not_found for
// anyone not set.
func (s *Server) SetUser(u User) {
	if u.TeamID == "" {
		u.TeamID = TeamID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
	s.changedLocked()
}

// SetUserGroup sets the members usergroups.users.list reports for the group
// id; unknown groups answer no_such_subteam.
func (s *Server) SetUserGroup(id string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[id] = slices.Clone(members)
}

// FailNext makes the next n calls of the Web API method (including
// apps.connections.open) answer {"ok":false,"error":slackError}. The error
// "ratelimited" is answered with HTTP 429 and "Retry-After: 1", as Slack does.
// n <= 0 removes a pending failure.
func (s *Server) FailNext(method string, n int, slackError string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		delete(s.failures, method)
		return
	}
	s.failures[method] = &failure{n: n, err: slackError}
}

// Opens is how many times apps.connections.open was called, failed calls
// included.
func (s *Server) Opens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opens
}

// SetDelay makes every Web API call and response_url post wait d (or
// until its client gives up) before it is handled: a slow Slack. Socket
// Mode is not delayed. Zero answers at once again.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// delayed is h after the delay SetDelay set when the request arrived.
func (s *Server) delayed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		d := s.delay
		s.mu.Unlock()
		if d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		h(w, r)
	}
}

// Connected is how many WebSocket connections are open, including ones told
// to disconnect that the client has not closed yet.
func (s *Server) Connected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// AllTraffic is everything the bot ever sent to the fake, in arrival order:
// WebSocket frames, Web API request lines (with query strings), headers
// other than Authorization, and bodies, and response_url bodies. A test can
// assert that a secret never reached Slack by searching it.
func (s *Server) AllTraffic() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.traffic.Bytes())
}

// recordTrafficLocked appends request metadata and body to the traffic log.
// s.mu must be held.
func (s *Server) recordTrafficLocked(r *http.Request, body []byte) {
	fmt.Fprintf(&s.traffic, "%s %s\n", r.Method, r.URL.RequestURI())
	for k, vs := range r.Header {
		if k == "Authorization" {
			continue
		}
		for _, v := range vs {
			fmt.Fprintf(&s.traffic, "%s: %s\n", k, v)
		}
	}
	s.traffic.Write(body)
	s.traffic.WriteByte('\n')
	s.trimTrafficLocked()
}

// Ack is one frame the client sent on a Socket Mode connection.
type Ack struct {
	EnvelopeID string
	// Payload is the ack's "payload", nil when absent, null or {}.
	Payload json.RawMessage
	At      time.Time
	// Sent is when the fake wrote the envelope this acks (zero if it
	// wrote none with that ID): At minus Sent is the app's ack latency,
	// without the time the caller of Send took to build the envelope.
	Sent time.Time
	// Size is the frame's size in bytes; see TooLarge.
	Size int
}

// TooLarge reports whether Slack would have dropped this ack (20 KB or more).
func (a Ack) TooLarge() bool { return a.Size >= AckSizeLimit }

// Acks returns every frame received so far, in order.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.acks)
}

// WaitAck waits for the ack of envelopeID (one received earlier counts).
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (Ack, error) {
	a, err := waitFor(ctx, s, func() ([]Ack, int) { return s.acks, s.acksDropped }, func(a Ack) bool { return a.EnvelopeID == envelopeID })
	if err != nil {
		return Ack{}, fmt.Errorf("slackfake: wait for ack of %s: %w", envelopeID, err)
	}
	return a, nil
}

// Call is one Web API request.
type Call struct {
	Method string
	// Params holds the form fields (first value) and query parameters, or
	// the top-level fields of a JSON body: strings as themselves, other JSON
	// values as their raw JSON text. A "blocks" form field is the JSON text
	// of the array, exactly as a JSON body's "blocks" would be.
	Params map[string]string
	Body   []byte
	// Token is the Bearer token, or the "token" field when there is no
	// Authorization header.
	Token string
	At    time.Time
	// Error is the Slack error the fake answered, "" when it answered ok.
	Error string
	// TS is the ts of the message an ok call posted or edited, as the
	// answer gave it (chat.postMessage, chat.update, chat.postEphemeral's
	// message_ts); "" for other calls.
	TS string
}

// Calls returns the recorded calls of method, or of every method when
// method is "".
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// WaitCall waits for a call of method for which match returns true (nil
// matches any); calls recorded before WaitCall was called count.
func (s *Server) WaitCall(ctx context.Context, method string, match func(Call) bool) (Call, error) {
	c, err := waitFor(ctx, s, func() ([]Call, int) { return s.calls, s.callsDropped }, func(c Call) bool {
		return c.Method == method && (match == nil || match(c))
	})
	if err != nil {
		return Call{}, fmt.Errorf("slackfake: wait for %s call: %w", method, err)
	}
	return c, nil
}

// Response is one post to a response_url.
type Response struct {
	URL             string
	Body            json.RawMessage
	ResponseType    string
	ReplaceOriginal bool
	DeleteOriginal  bool
	Text            string
	Blocks          json.RawMessage
	At              time.Time
	// Error is the failure the fake answered ("used_url", "invalid_blocks",
	// ...), "" when the post was accepted.
	Error string
}

// Responses returns every response_url post, rejected ones included (see
// Response.Error).
func (s *Server) Responses() []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.responses)
}

// WaitResponse waits for a response_url post for which match returns true
// (nil matches any); posts recorded earlier count.
func (s *Server) WaitResponse(ctx context.Context, match func(Response) bool) (Response, error) {
	r, err := waitFor(ctx, s, func() ([]Response, int) { return s.responses, s.responsesDropped }, func(r Response) bool {
		return match == nil || match(r)
	})
	if err != nil {
		return Response{}, fmt.Errorf("slackfake: wait for response_url post: %w", err)
	}
	return r, nil
}

// waitFor returns the first element of the list that matches, waiting for
// new elements until ctx ends or the server closes. list returns the
// records and how many were dropped before them; it is read under s.mu;
// match runs without the lock, so it may call back into the server.
func waitFor[T any](ctx context.Context, s *Server, list func() ([]T, int), match func(T) bool) (T, error) {
	var zero T
	checked := -1 // absolute position of the next record to check; -1 until the first look
	for {
		s.mu.Lock()
		all, dropped := list()
		if checked < dropped {
			checked = dropped
		}
		items := slices.Clone(all[checked-dropped:])
		changed, closed := s.changed, s.closed
		s.mu.Unlock()
		for _, it := range items {
			if match(it) {
				return it, nil
			}
		}
		checked += len(items)
		if closed {
			return zero, ErrClosed
		}
		select {
		case <-ctx.Done():
			return zero, ctx.Err()
		case <-changed:
		case <-s.done:
		}
	}
}

// trimLocked drops the oldest half of a record list that grew past
// MaxRecords and adds the count to *dropped. s.mu must be held.
func trimLocked[T any](s *Server, list []T, dropped *int) []T {
	if s.opts.MaxRecords <= 0 || len(list) <= s.opts.MaxRecords {
		return list
	}
	n := len(list) / 2
	*dropped += n
	return slices.Clone(list[n:])
}

// trimTrafficLocked keeps AllTraffic within MaxRecords KB. s.mu must be held.
func (s *Server) trimTrafficLocked() {
	limit := s.opts.MaxRecords << 10
	if limit <= 0 || s.traffic.Len() <= limit {
		return
	}
	keep := bytes.Clone(s.traffic.Bytes()[s.traffic.Len()-limit/2:])
	s.traffic.Reset()
	s.traffic.Write(keep)
}
