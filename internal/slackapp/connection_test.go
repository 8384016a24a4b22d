package slackapp

import (
	"io"
	"log/slog"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/flagbot/flagbot/internal/secret"
)

// TestConnectionStateIgnoresLateEvents feeds lifecycle events in the orders
// slack-go's goroutine-per-handler dispatch can produce.
func TestConnectionStateIgnoresLateEvents(t *testing.T) {
	connecting := func(n int) *socketmode.Event {
		return &socketmode.Event{Type: socketmode.EventTypeConnecting, Data: &slack.ConnectingEvent{Attempt: 1, ConnectionCount: n}}
	}
	connected := func(n int) *socketmode.Event {
		return &socketmode.Event{Type: socketmode.EventTypeConnected, Data: &socketmode.ConnectedEvent{ConnectionCount: n}}
	}
	connErr := &socketmode.Event{Type: socketmode.EventTypeConnectionError, Data: &slack.ConnectionErrorEvent{Attempt: 1}}
	tests := []struct {
		name   string
		events []*socketmode.Event
		want   bool
	}{
		{"in order", []*socketmode.Event{connecting(0), connected(0)}, true},
		{"connecting handled late", []*socketmode.Event{connected(0), connecting(0)}, true},
		{"error handled late", []*socketmode.Event{connecting(0), connected(0), connErr}, true},
		{"reconnecting", []*socketmode.Event{connecting(0), connected(0), connecting(1)}, false},
		{"reconnected", []*socketmode.Event{connecting(0), connected(0), connecting(1), connected(1)}, true},
		{"never connected", []*socketmode.Event{connecting(0), connErr}, false},
		{"invalid auth", []*socketmode.Event{connected(0), {Type: socketmode.EventTypeInvalidAuth}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(secret.Secret("xapp-1-test"), NewClients(SingleWorkspace("xoxb-test"), Options{}), nil, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range tt.events {
				a.onConnectionChange(e, nil)
			}
			if got := a.Connected(); got != tt.want {
				t.Errorf("Connected() = %v, want %v", got, tt.want)
			}
		})
	}
}
