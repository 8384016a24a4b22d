package slackapp

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/slack-go/slack"
)

// TestResponseMessageIsAWebhookMessage: every rendered result posts the
// very bytes slack.WebhookMessage made.
func TestResponseMessageIsAWebhookMessage(t *testing.T) {
	t.Parallel()
	for _, tt := range goldenResults() {
		for _, replace := range []bool{false, true} {
			m := renderResult(tt.in)
			wm := &slack.WebhookMessage{Text: m.Text, ResponseType: slack.ResponseTypeInChannel, ReplaceOriginal: replace}
			if len(m.Blocks) > 0 {
				wm.Blocks = &slack.Blocks{BlockSet: m.Blocks}
			}
			want, err := json.Marshal(wm)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(responseMessage{Text: m.Text, Blocks: m.Blocks, ResponseType: slack.ResponseTypeInChannel, ReplaceOriginal: replace})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s (replace %t):\n got %s\nwant %s", tt.name, replace, got, want)
			}
		}
	}
}

func TestPostResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		answer  string
		wantErr string
	}{
		{"ok", http.StatusOK, "ok", ""},
		{"expired", http.StatusNotFound, "expired_url", `response_url answered 404 Not Found: "expired_url"`},
		{"slack down", http.StatusInternalServerError, "", `response_url answered 500 Internal Server Error: ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
					t.Errorf("%s with Content-Type %q, want a POST of application/json", r.Method, r.Header.Get("Content-Type"))
				}
				got, _ = io.ReadAll(r.Body)
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.answer)
			}))
			t.Cleanup(srv.Close)
			err := postResponse(t.Context(), srv.Client(), srv.URL+"/commands/T1/1/secret", responseMessage{Text: "hi", ResponseType: "ephemeral"})
			if gotErr := errText(err); gotErr != tt.wantErr {
				t.Errorf("postResponse error = %q, want %q", gotErr, tt.wantErr)
			}
			if want := `{"text":"hi","response_type":"ephemeral","replace_original":false,"delete_original":false}`; string(got) != want {
				t.Errorf("posted %s, want %s", got, want)
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// BenchmarkReplyBody marshals /flag show's reply as slack.WebhookMessage
// did and as responseMessage does.
func BenchmarkReplyBody(b *testing.B) {
	m := renderResult(showFixture())
	b.Run("WebhookMessage", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(&slack.WebhookMessage{Text: m.Text, Blocks: &slack.Blocks{BlockSet: m.Blocks}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("responseMessage", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(responseMessage{Text: m.Text, Blocks: m.Blocks}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
