package slackapp

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/flagbot/flagbot/internal/commands"
)

// ActionID identifies an interactive element (a button or an input) in the
// payloads Slack sends back.
type ActionID string

// CallbackID identifies a modal in view_submission payloads.
type CallbackID string

// BlockID identifies a block; input blocks are keyed by it in a modal's state
// and in response_action=errors answers.
type BlockID string

// The IDs the renderer emits and the router dispatches on.
const (
	// ActionNextPage is the "Next page" button under a /flag list answer. Its
	// value is a cursor made by EncodeListCursor.
	ActionNextPage ActionID = "flag_list_next"

	// CallbackConnect is the connect modal opened by /flag connect.
	CallbackConnect CallbackID = "flag_connect"

	// The connect modal's input blocks.
	BlockToken   BlockID = "ld_token"
	BlockProject BlockID = "ld_project"
	BlockEnv     BlockID = "ld_env"

	// The connect modal's input elements, one per input block: text
	// inputs, and once the pasted token was checked, selects of what it
	// sees (the token input dispatches as it is pasted, the project select
	// when it changes).
	ActionToken       ActionID = "ld_token_input"
	ActionProject     ActionID = "ld_project_input"
	ActionEnv         ActionID = "ld_env_input"
	ActionProjectPick ActionID = "ld_project_pick"
	ActionEnvPick     ActionID = "ld_env_pick"
)

// noDefaultEnv is the environment select's option for "no default".
const noDefaultEnv = "-"

// listCursor is the wire form of a list query in a "Next page" button. Short
// keys keep the value small; V lets the format change without misreading old
// buttons still visible in Slack.
type listCursor struct {
	V        int    `json:"v"`
	Project  string `json:"p,omitempty"`
	Env      string `json:"e,omitempty"`
	Words    string `json:"w,omitempty"`
	Tag      string `json:"t,omitempty"`
	Archived bool   `json:"a,omitempty"`
	Offset   int    `json:"o,omitempty"`
	Share    bool   `json:"s,omitempty"`
}

const cursorVersion = 1

// ErrBadCursor is returned (wrapped) by DecodeListCursor for any value it did
// not make.
var ErrBadCursor = errors.New("slackapp: bad list cursor")

// EncodeListCursor packs a list query, including its paging offset and share
// option, into a button value: compact JSON in unpadded base64url. It holds
// only what the user typed and no credentials. The result is at most
// MaxButtonValue characters: when the free-text words are too long to fit
// they are shortened; when even that is not enough (absurdly long keys) it
// returns "" and the caller should not offer a button.
func EncodeListCursor(q commands.List) string {
	c := listCursor{
		V:        cursorVersion,
		Project:  q.Project,
		Env:      q.Env,
		Words:    q.Words,
		Tag:      q.Tag,
		Archived: q.Archived,
		Offset:   q.Offset,
		Share:    q.Share,
	}
	for {
		s := encodeCursor(c)
		if len(s) <= MaxButtonValue {
			return s
		}
		if c.Words == "" {
			return ""
		}
		c.Words = cutRunes(c.Words, utf8.RuneCountInString(c.Words)/2)
	}
}

func encodeCursor(c listCursor) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil { // cannot fail for strings, ints and bools
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// DecodeListCursor reverses EncodeListCursor. Any other input, including
// values from an unknown cursor version, returns an error wrapping
// ErrBadCursor; it never panics.
func DecodeListCursor(s string) (commands.List, error) {
	if s == "" || len(s) > MaxButtonValue {
		return commands.List{}, fmt.Errorf("%w: length %d", ErrBadCursor, len(s))
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return commands.List{}, fmt.Errorf("%w: %w", ErrBadCursor, err)
	}
	if !utf8.Valid(raw) {
		return commands.List{}, fmt.Errorf("%w: invalid utf-8", ErrBadCursor)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c listCursor
	if err := dec.Decode(&c); err != nil {
		return commands.List{}, fmt.Errorf("%w: %w", ErrBadCursor, err)
	}
	if dec.More() {
		return commands.List{}, fmt.Errorf("%w: trailing data", ErrBadCursor)
	}
	switch {
	case c.V != cursorVersion:
		return commands.List{}, fmt.Errorf("%w: version %d", ErrBadCursor, c.V)
	case c.Offset < 0:
		return commands.List{}, fmt.Errorf("%w: negative offset", ErrBadCursor)
	}
	return commands.List{
		Project:  c.Project,
		Env:      c.Env,
		Words:    c.Words,
		Tag:      c.Tag,
		Archived: c.Archived,
		Offset:   c.Offset,
		Output:   commands.Output{Share: c.Share},
	}, nil
}
