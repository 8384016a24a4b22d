package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// wsConn is one Socket Mode connection. gorilla/websocket allows one
// concurrent writer, so every write goes through wmu.
type wsConn struct {
	ws   *websocket.Conn
	wmu  sync.Mutex
	done chan struct{} // closed when the read loop ends

	// retired (guarded by Server.mu) marks a connection that was told to
	// disconnect or failed a write: envelopes go elsewhere.
	retired bool
}

func (c *wsConn) write(data []byte, writing func()) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if writing != nil {
		writing()
	}
	return c.writeLocked(data)
}

// writeLocked writes one text frame; c.wmu must be held.
func (c *wsConn) writeLocked(data []byte) error {
	if err := c.ws.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	return c.ws.WriteMessage(websocket.TextMessage, data)
}

func (c *wsConn) ping() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout))
}

// handleWS serves GET /ws?ticket=...: it upgrades, says hello, pings every
// PingInterval and records every frame the client sends as an Ack.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	// Like Slack's, a ticket from apps.connections.open works once.
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	valid := s.openTickets[ticket]
	delete(s.openTickets, ticket)
	s.mu.Unlock()
	if !valid {
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has already answered with an HTTP error
	}
	c := &wsConn{ws: ws, done: make(chan struct{})}

	// The connection is listed before the hello is written, so that an
	// envelope sent after the client saw its hello goes to it; holding the
	// write lock meanwhile keeps any envelope from overtaking the hello.
	c.wmu.Lock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.wmu.Unlock()
		_ = ws.Close()
		return
	}
	s.connSeq++
	seq := s.connSeq
	s.conns = append(s.conns, c)
	live := len(s.conns)
	s.wg.Add(2) // the ping loop and this handler's read loop
	s.notifyLocked()
	s.mu.Unlock()
	hello, _ := json.Marshal(map[string]any{
		"type":            "hello",
		"num_connections": live,
		"connection_info": map[string]any{"app_id": AppID},
		"debug_info": map[string]any{
			"host":                        fmt.Sprintf("slackfake-%d", seq),
			"build_number":                1,
			"approximate_connection_time": 18060,
		},
	})
	if err := c.writeLocked(hello); err != nil {
		_ = ws.Close() // the read loop below fails at once and unlists c
	}
	c.wmu.Unlock()

	go s.pingLoop(c)
	defer s.wg.Done()
	s.readLoop(c)
}

func (s *Server) pingLoop(c *wsConn) {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			if err := c.ping(); err != nil {
				_ = c.ws.Close() // ends the read loop too
				return
			}
		}
	}
}

func (s *Server) readLoop(c *wsConn) {
	defer func() {
		close(c.done)
		_ = c.ws.Close()
		s.mu.Lock()
		s.conns = slices.DeleteFunc(s.conns, func(x *wsConn) bool { return x == c })
		s.notifyLocked()
		s.mu.Unlock()
	}()
	for {
		// Reading also runs gorilla's default ping handler, which answers
		// client pings with pongs.
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		s.recordAck(data)
	}
}

func (s *Server) recordAck(data []byte) {
	var frame struct {
		EnvelopeID string          `json:"envelope_id"`
		Payload    json.RawMessage `json:"payload"`
	}
	// A malformed frame is recorded with an empty EnvelopeID.
	_ = json.Unmarshal(data, &frame)
	payload := frame.Payload
	if isEmptyJSON(payload) {
		payload = nil
	}
	ack := Ack{EnvelopeID: frame.EnvelopeID, Payload: payload, At: time.Now(), Size: len(data)}
	ack.Sent = s.sent.take(frame.EnvelopeID)
	s.mu.Lock()
	s.traffic.Write(data)
	s.traffic.WriteByte('\n')
	s.trimTrafficLocked()
	s.acks = trimLocked(s, append(s.acks, ack), &s.acksDropped)
	s.applyAckLocked(frame.EnvelopeID, payload)
	s.notifyLocked()
	s.mu.Unlock()
	if s.opts.OnAck != nil {
		s.opts.OnAck(ack)
	}
}

// isEmptyJSON reports whether raw is absent, null or an empty object (Bolt
// acks with {} when it has nothing to say).
func isEmptyJSON(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return true
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return false
	}
	if v == nil {
		return true
	}
	m, ok := v.(map[string]any)
	return ok && len(m) == 0
}

// envelope is a Socket Mode envelope as Slack sends it.
type envelope struct {
	EnvelopeID             string          `json:"envelope_id"`
	Type                   string          `json:"type"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	Payload                json.RawMessage `json:"payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
}

// Send wraps payload in an envelope of the given type ("slash_commands",
// "interactive", "events_api") and writes it to the newest live
// connection, waiting up to Options.SendTimeout for one. It returns the
// envelope ID to pass to WaitAck. A trigger_id issued by NewTriggerID starts
// its lifetime when the envelope carrying it is written.
func (s *Server) Send(typ string, payload any, acceptsResponsePayload bool) (string, error) {
	return s.sendExpecting(typ, payload, acceptsResponsePayload, pendingAck{})
}

// sendExpecting is Send that also remembers what the envelope's ack means
// to Slack (p.kind "" for nothing).
func (s *Server) sendExpecting(typ string, payload any, acceptsResponsePayload bool, p pendingAck) (string, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("slackfake: marshal %s payload: %w", typ, err)
	}
	var top struct {
		TriggerID string `json:"trigger_id"`
	}
	_ = json.Unmarshal(raw, &top) // payloads that are not objects carry no trigger

	s.mu.Lock()
	s.envelopeSeq++
	id := fmt.Sprintf("%08x-5f1a-4c0b-9e6d-%012x", s.envelopeSeq, s.envelopeSeq)
	if p.kind != "" {
		s.ws.envelopes[id] = p
	}
	s.mu.Unlock()

	data, err := json.Marshal(envelope{EnvelopeID: id, Type: typ, AcceptsResponsePayload: acceptsResponsePayload, Payload: raw})
	if err != nil {
		return "", fmt.Errorf("slackfake: marshal envelope: %w", err)
	}
	if err := s.writeNewest(data, func() { s.sent.stamp(id) }); err != nil {
		s.sent.forget(id)
		s.mu.Lock()
		delete(s.ws.envelopes, id)
		s.mu.Unlock()
		return "", fmt.Errorf("slackfake: send %s envelope: %w", typ, err)
	}
	if top.TriggerID != "" {
		s.mu.Lock()
		if tr, ok := s.triggers[top.TriggerID]; ok && tr.sent.IsZero() {
			tr.sent = time.Now()
		}
		s.mu.Unlock()
	}
	return id, nil
}

// SendRaw writes envelope to the newest live connection as it is: []byte,
// json.RawMessage and string are sent verbatim (malformed frames included),
// anything else is marshalled to JSON.
func (s *Server) SendRaw(envelope any) error {
	var data []byte
	switch v := envelope.(type) {
	case []byte:
		data = v
	case json.RawMessage:
		data = v
	case string:
		data = []byte(v)
	default:
		var err error
		if data, err = json.Marshal(v); err != nil {
			return fmt.Errorf("slackfake: marshal raw envelope: %w", err)
		}
	}
	if err := s.writeNewest(data, nil); err != nil {
		return fmt.Errorf("slackfake: send raw envelope: %w", err)
	}
	return nil
}

// writeNewest writes data to the newest connection that has not been told to
// disconnect, waiting up to SendTimeout for one to appear. writing, if not
// nil, runs right before the frame is written.
func (s *Server) writeNewest(data []byte, writing func()) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.SendTimeout)
	defer cancel()
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		var c *wsConn
		for i := len(s.conns) - 1; i >= 0; i-- {
			if !s.conns[i].retired {
				c = s.conns[i]
				break
			}
		}
		changed := s.changed
		s.mu.Unlock()

		if c != nil {
			err := c.write(data, writing)
			if err == nil {
				return nil
			}
			// The connection is dying; stop routing to it and wait for the
			// client's next one.
			s.mu.Lock()
			c.retired = true
			s.mu.Unlock()
			_ = c.ws.Close()
			continue
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w after %v", ErrNoConnection, s.opts.SendTimeout)
		case <-s.done:
			return ErrClosed
		case <-changed:
		}
	}
}

// Disconnect sends {"type":"disconnect","reason":reason} to every live
// connection, as Slack does before rotating a connection ("warning",
// "refresh_requested", "link_disabled", "too_many_websockets"). Those
// connections receive no more envelopes; the client is expected to close them
// and open a new one.
func (s *Server) Disconnect(reason string) {
	msg, _ := json.Marshal(map[string]any{
		"type":       "disconnect",
		"reason":     reason,
		"debug_info": map[string]any{"host": "slackfake"},
	})
	s.mu.Lock()
	conns := slices.Clone(s.conns)
	for _, c := range conns {
		c.retired = true
	}
	s.mu.Unlock()
	for _, c := range conns {
		if err := c.write(msg, nil); err != nil {
			_ = c.ws.Close()
		}
	}
}

// DropConnections closes every WebSocket abruptly, without a close frame.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := slices.Clone(s.conns)
	for _, c := range conns {
		c.retired = true
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.ws.Close()
	}
}

// sentTimes remembers when each envelope was written, until its ack comes.
type sentTimes struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (t *sentTimes) stamp(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.at == nil {
		t.at = make(map[string]time.Time)
	}
	t.at[id] = time.Now()
}

func (t *sentTimes) forget(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.at, id)
}

// take returns when envelope id was written (zero if it was not) and
// forgets it: a redelivery's ack has no envelope written for it.
func (t *sentTimes) take(id string) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	at := t.at[id]
	delete(t.at, id)
	return at
}
