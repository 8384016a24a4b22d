package slackapp

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/flagbot/flagbot/internal/commands"
)

// The IDs of the request form (opened by `/flag`, `/flag request` and the
// "Request a change…" buttons) and of the buttons that open it.
const (
	// CallbackRequest is the request form; CallbackRequestDone the view it
	// becomes while a slow submission is filed and after.
	CallbackRequest     CallbackID = "flag_request"
	CallbackRequestDone CallbackID = "flag_request_done"

	// ActionRequestOpen is a button that opens the form prefilled: "Request
	// a change…", "Turn off in production", ... Its value is made by
	// EncodeRequestPrefill.
	ActionRequestOpen ActionID = "flag_request_open"
	// ActionRequestToggle is the "Turn off in …" / "Turn on in …" button
	// beside it (action ids are unique within a block); it opens the form
	// the same way, with the action chosen.
	ActionRequestToggle ActionID = "flag_request_toggle"

	// The form's input blocks and their elements. Flag, action and
	// environment dispatch their changes, so the form can show what the
	// chosen flag and action need.
	BlockReqFlag       BlockID  = "req_flag"
	ActionReqFlag      ActionID = "req_flag_pick"
	BlockReqAction     BlockID  = "req_action"
	ActionReqAction    ActionID = "req_action_pick"
	BlockReqEnv        BlockID  = "req_env"
	ActionReqEnv       ActionID = "req_env_pick"
	BlockReqVariation  BlockID  = "req_variation"
	ActionReqVariation ActionID = "req_variation_pick"
	// BlockReqPercentPrefix plus a variation's ref is the block of that
	// variation's percentage in a rollout.
	BlockReqPercentPrefix           = "req_pct:"
	ActionReqPercent       ActionID = "req_pct_input"
	BlockReqContexts       BlockID  = "req_contexts"
	ActionReqContexts      ActionID = "req_contexts_input"
	BlockReqReason         BlockID  = "req_reason"
	ActionReqReason        ActionID = "req_reason_input"
	BlockReqNewKey         BlockID  = "req_new_key"
	ActionReqNewKey        ActionID = "req_new_key_input"
	BlockReqNewName        BlockID  = "req_new_name"
	ActionReqNewName       ActionID = "req_new_name_input"
	BlockReqNewKind        BlockID  = "req_new_kind"
	ActionReqNewKind       ActionID = "req_new_kind_pick"
	BlockReqNewVariations  BlockID  = "req_new_variations"
	ActionReqNewVariations ActionID = "req_new_variations_input"
	BlockReqNewTags        BlockID  = "req_new_tags"
	ActionReqNewTags       ActionID = "req_new_tags_input"
	BlockReqTemporary      BlockID  = "req_temporary"
	ActionReqTemporary     ActionID = "req_temporary_pick"
)

// ErrBadPrefill is returned (wrapped) by DecodeRequestPrefill for any value
// it did not make; decodeRequestMeta's errors wrap it too.
var ErrBadPrefill = errors.New("slackapp: bad request form value")

// prefill is the wire form of a commands.Request in a button value and of
// the request form's private_metadata (which adds the channel).
type prefill struct {
	V       int    `json:"v"`
	Project string `json:"p,omitempty"`
	Flag    string `json:"f,omitempty"`
	Env     string `json:"e,omitempty"`
	Action  string `json:"a,omitempty"`
	Channel string `json:"c,omitempty"`
}

const prefillVersion = 1

// EncodeRequestPrefill packs what a button opens the form with into its
// value: compact JSON in unpadded base64url, keys only, no credentials.
// It returns "" when the keys are too long for a button (the caller then
// offers none).
func EncodeRequestPrefill(r commands.Request) string {
	s := encodePrefill(prefill{V: prefillVersion, Project: r.Project, Flag: r.Flag, Env: r.Env, Action: string(r.Action)})
	if len(s) > MaxButtonValue {
		return ""
	}
	return s
}

func encodePrefill(p prefill) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// DecodeRequestPrefill reverses EncodeRequestPrefill; anything else is an
// error wrapping ErrBadPrefill. It never panics.
func DecodeRequestPrefill(s string) (commands.Request, error) {
	p, err := decodePrefill(s)
	if err != nil {
		return commands.Request{}, err
	}
	return commands.Request{Project: p.Project, Flag: p.Flag, Env: p.Env, Action: commands.RequestAction(p.Action)}, nil
}

func decodePrefill(s string) (prefill, error) {
	if s == "" || len(s) > maxPrivateMetadata {
		return prefill{}, fmt.Errorf("%w: length %d", ErrBadPrefill, len(s))
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return prefill{}, fmt.Errorf("%w: %w", ErrBadPrefill, err)
	}
	if !utf8.Valid(raw) {
		return prefill{}, fmt.Errorf("%w: invalid utf-8", ErrBadPrefill)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var p prefill
	if err := dec.Decode(&p); err != nil {
		return prefill{}, fmt.Errorf("%w: %w", ErrBadPrefill, err)
	}
	if dec.More() {
		return prefill{}, fmt.Errorf("%w: trailing data", ErrBadPrefill)
	}
	if p.V != prefillVersion {
		return prefill{}, fmt.Errorf("%w: version %d", ErrBadPrefill, p.V)
	}
	if p.Action != "" && !commands.RequestAction(p.Action).Valid() {
		return prefill{}, fmt.Errorf("%w: action %q", ErrBadPrefill, p.Action)
	}
	return p, nil
}

// requestMeta is what the request form carries in private_metadata: the
// channel to post the request in and the project (untrusted on return:
// the core re-checks everything).
type requestMeta struct {
	Channel string
	Project string
}

func encodeRequestMeta(m requestMeta) string {
	return encodePrefill(prefill{V: prefillVersion, Project: m.Project, Channel: m.Channel})
}

func decodeRequestMeta(s string) (requestMeta, error) {
	p, err := decodePrefill(s)
	if err != nil {
		return requestMeta{}, err
	}
	return requestMeta{Channel: p.Channel, Project: p.Project}, nil
}

// percentBlock is the block of variation ref's percentage in a rollout.
func percentBlock(ref string) string { return BlockReqPercentPrefix + ref }

// percentRef is the variation ref of a percentage block, and whether
// blockID is one.
func percentRef(blockID string) (string, bool) {
	return strings.CutPrefix(blockID, BlockReqPercentPrefix)
}
