package slackapp

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestScrubURLKeepsResponseURLOutOfErrors(t *testing.T) {
	const secretURL = "https://hooks.slack.com/commands/T1/123/abcSECRET"
	for _, err := range []error{
		fmt.Errorf("post: %w", &url.Error{Op: "Post", URL: secretURL, Err: errors.New("timeout")}),
		fmt.Errorf("failed to post webhook: %w", &url.Error{Op: "Post", URL: strings.Replace(secretURL, "https", "http", 1), Err: errors.New("refused")}),
	} {
		if got := scrubURL(err, secretURL); strings.Contains(got, "abcSECRET") {
			t.Errorf("scrubURL left the URL in %q", got)
		}
	}
}
