package slackapp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/slack-go/slack"
)

// responseMessage is the body of a response_url POST: the fields of
// slack.WebhookMessage Flagbot sends, in the JSON slack.WebhookMessage
// makes. Blocks are a plain list: slack.Blocks's MarshalJSON would marshal
// them on their own and encoding/json then scan the result again, a
// tenth of a slash command's CPU (issue 12).
type responseMessage struct {
	Text            string        `json:"text,omitempty"`
	Blocks          []slack.Block `json:"blocks,omitempty"`
	ResponseType    string        `json:"response_type,omitempty"`
	ReplaceOriginal bool          `json:"replace_original"`
	DeleteOriginal  bool          `json:"delete_original"`
}

// maxResponseURLReply bounds what is read of response_url's answer (it is
// "ok" or a short error).
const maxResponseURLReply = 4 << 10

// postResponse posts m to a response_url with client, as
// slack.PostWebhookCustomHTTPContext does. Errors never carry the URL's
// path (it is a credential) beyond what net/http puts in them; callers
// scrub those.
func postResponse(ctx context.Context, client *http.Client, responseURL string, m responseMessage) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("marshal the reply: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build the reply request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("post the reply: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		answer, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return fmt.Errorf("response_url answered %s: %q", resp.Status, answer)
	}
	// Read the answer to its end, so the connection goes back to the pool.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseURLReply))
	return nil
}
