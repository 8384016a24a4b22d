package slackfake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/flagbot/flagbot/internal/slackfake"
)

const (
	appToken = "xapp-1-test"
	botToken = "xoxb-test"
	waitFor  = 2 * time.Second // no single step of these tests should take longer
)

func newFake(t *testing.T, opts slackfake.Options) *slackfake.Server {
	t.Helper()
	if opts.AppToken == "" {
		opts.AppToken = appToken
	}
	if opts.BotToken == "" {
		opts.BotToken = botToken
	}
	return slackfake.New(t, opts)
}

func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	t.Cleanup(cancel)
	return ctx
}

// apiResult is a decoded Web API answer.
type apiResult struct {
	status int
	header http.Header
	body   map[string]any
}

func (r apiResult) ok() bool { return r.body["ok"] == true }

func (r apiResult) err() string {
	s, _ := r.body["error"].(string)
	return s
}

func do(t *testing.T, req *http.Request) apiResult {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("%s %s: answer %q is not a JSON object: %v", req.Method, req.URL, raw, err)
	}
	return apiResult{status: resp.StatusCode, header: resp.Header, body: body}
}

// postForm posts a form the way slack-go's postMethod does.
func postForm(t *testing.T, f *slackfake.Server, method string, values url.Values) apiResult {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.APIURL()+method, strings.NewReader(values.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, req)
}

// postJSON posts a JSON body with a Bearer token, the way slack-go's
// postJSONMethod does.
func postJSON(t *testing.T, f *slackfake.Server, method, token string, body any) apiResult {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		raw = nil
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.APIURL()+method, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

// postURL posts a JSON body to a response_url.
func postURL(t *testing.T, u string, body any) apiResult {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return do(t, req)
}

// openURL calls apps.connections.open and returns the WebSocket URL.
func openURL(t *testing.T, f *slackfake.Server) string {
	t.Helper()
	res := postJSON(t, f, "apps.connections.open", appToken, nil)
	u, _ := res.body["url"].(string)
	if !res.ok() || u == "" {
		t.Fatalf("apps.connections.open = %v, want ok with a url", res.body)
	}
	return u
}

// client is a bare Socket Mode client on gorilla/websocket.
type client struct {
	ws    *websocket.Conn
	msgs  chan []byte
	pings atomic.Int32
	gone  chan struct{} // closed when reading fails
}

// dial opens a connection and consumes the hello, which it returns.
func dial(t *testing.T, f *slackfake.Server) (*client, map[string]any) {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.DialContext(t.Context(), openURL(t, f), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	resp.Body.Close()
	c := &client{ws: ws, msgs: make(chan []byte, 16), gone: make(chan struct{})}
	ws.SetPingHandler(func(data string) error {
		c.pings.Add(1)
		return ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	go func() {
		defer close(c.gone)
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			c.msgs <- data
		}
	}()
	t.Cleanup(func() {
		_ = ws.Close()
		<-c.gone
	})
	hello := c.next(t)
	if hello["type"] != "hello" {
		t.Fatalf("first frame = %v, want a hello", hello)
	}
	return c, hello
}

// next returns the next frame, decoded.
func (c *client) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case data := <-c.msgs:
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("frame %q: %v", data, err)
		}
		return m
	case <-c.gone:
		t.Fatal("connection closed while waiting for a frame")
	case <-time.After(waitFor):
		t.Fatal("no frame within 2s")
	}
	return nil
}

// none checks that no frame arrives for a short while.
func (c *client) none(t *testing.T) {
	t.Helper()
	select {
	case data := <-c.msgs:
		t.Fatalf("unexpected frame %s", data)
	case <-time.After(50 * time.Millisecond):
	}
}

func (c *client) send(t *testing.T, v any) {
	t.Helper()
	if err := c.ws.WriteJSON(v); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// payload returns an envelope's payload as a map.
func payload(t *testing.T, env map[string]any) map[string]any {
	t.Helper()
	p, ok := env["payload"].(map[string]any)
	if !ok {
		t.Fatalf("envelope %v has no payload object", env)
	}
	return p
}

// path follows keys through nested JSON objects.
func path(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
