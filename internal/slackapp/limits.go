package slackapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Block Kit limits Flagbot enforces on every message it sends (see
// NOTES-slack.md §12). Lengths are counted in characters (runes).
const (
	MaxBlocks          = 50   // blocks per message
	MaxMessageText     = 3000 // top-level fallback text (Slack truncates far above; we stay small)
	MaxSectionText     = 3000 // a section's text
	MaxSectionFields   = 10   // fields per section
	MaxFieldText       = 2000 // each section field
	MaxHeaderText      = 150  // a header's plain text
	MaxContextElements = 10   // elements per context block
	MaxContextText     = 3000 // each text element of a context block
	MaxActionElements  = 25   // elements per actions block
	MaxButtonText      = 75   // a button's label
	MaxButtonValue     = 2000 // a button's value
	MaxButtonURL       = 3000 // a button's url
	MaxID              = 255  // block_id, action_id, callback_id
	MaxModalTitle      = 24   // a modal's title, submit and close labels
	MaxViewBlocks      = 100  // blocks in a modal or a Home tab
	MaxOptions         = 100  // options of a select, or of a block_suggestion answer
	MaxOptionText      = 75   // an option's text
	MaxOptionValue     = 150  // an option's value
	MaxPrivateMetadata = 3000 // a view's private_metadata
	MaxUnfurlBlocks    = 50   // blocks in one link's unfurl (a message's limit)
)

// maxPrivateMetadata bounds what decodePrefill reads.
const maxPrivateMetadata = MaxPrivateMetadata

// ellipsis marks text that Fit cut short.
const ellipsis = "…"

// Fit returns m cut down to Slack's limits: at most MaxBlocks blocks (the
// overflow is replaced by a context block saying how many were left out; a
// trailing actions block, such as a "Next page" button, is kept), section,
// field, header, context and button texts cut on a rune boundary with "…",
// and the fallback Text cut to MaxMessageText. Mrkdwn is cut at a line break
// when one is near, and never inside a link, an &entity; or a code span. Fit
// does not modify m or the blocks it points to; changed blocks are copies.
func Fit(m Message) Message {
	return Message{Text: truncMrkdwn(m.Text, MaxMessageText), Blocks: fitBlocks(m.Blocks, MaxBlocks)}
}

// FitView is Fit for the blocks of a modal or Home tab: at most
// MaxViewBlocks of them.
func FitView(blocks []slack.Block) []slack.Block { return fitBlocks(blocks, MaxViewBlocks) }

func fitBlocks(in []slack.Block, limit int) []slack.Block {
	blocks := in
	if len(blocks) > limit {
		keep := limit - 1
		var tail []slack.Block
		if _, ok := blocks[len(blocks)-1].(*slack.ActionBlock); ok {
			keep = limit - 2
			tail = blocks[len(blocks)-1:]
		}
		dropped := len(blocks) - keep - len(tail)
		more := slack.NewContextBlock("", mrkdwn(fmt.Sprintf("…and %d more, narrow your search.", dropped)))
		trimmed := make([]slack.Block, 0, limit)
		trimmed = append(trimmed, blocks[:keep]...)
		trimmed = append(trimmed, more)
		blocks = append(trimmed, tail...)
	}
	owned := len(in) > limit // blocks is then a new slice, ours to change
	for i, b := range blocks {
		if !needsFit(b) {
			continue
		}
		if !owned { // copy m's slice before the first change
			blocks, owned = slices.Clone(blocks), true
		}
		blocks[i] = fitBlock(b)
	}
	return blocks
}

// needsFit reports whether fitBlock would change b. Most blocks are within
// the limits, and checking is cheaper than copying.
func needsFit(b slack.Block) bool {
	over := func(t *slack.TextBlockObject, limit int) bool { return t != nil && runeLen(t.Text) > limit }
	button := func(e *slack.ButtonBlockElement) bool {
		return over(e.Text, MaxButtonText) || runeLen(e.Value) > MaxButtonValue || runeLen(e.URL) > MaxButtonURL
	}
	switch b := b.(type) {
	case *slack.SectionBlock:
		if over(b.Text, MaxSectionText) || len(b.Fields) > MaxSectionFields {
			return true
		}
		for _, f := range b.Fields {
			if over(f, MaxFieldText) {
				return true
			}
		}
		return b.Accessory != nil && b.Accessory.ButtonElement != nil && button(b.Accessory.ButtonElement)
	case *slack.HeaderBlock:
		return over(b.Text, MaxHeaderText)
	case *slack.ContextBlock:
		els := b.ContextElements.Elements
		if len(els) > MaxContextElements {
			return true
		}
		for _, e := range els {
			if t, ok := e.(*slack.TextBlockObject); ok && over(t, MaxContextText) {
				return true
			}
		}
	case *slack.ActionBlock:
		if b.Elements == nil {
			return false
		}
		if len(b.Elements.ElementSet) > MaxActionElements {
			return true
		}
		for _, e := range b.Elements.ElementSet {
			if btn, ok := e.(*slack.ButtonBlockElement); ok && button(btn) {
				return true
			}
		}
	}
	return false
}

func fitBlock(b slack.Block) slack.Block {
	switch b := b.(type) {
	case *slack.SectionBlock:
		c := *b
		c.Text = fitText(b.Text, MaxSectionText)
		if len(b.Fields) > 0 {
			n := min(len(b.Fields), MaxSectionFields)
			c.Fields = make([]*slack.TextBlockObject, n)
			for i := range n {
				c.Fields[i] = fitText(b.Fields[i], MaxFieldText)
			}
		}
		if b.Accessory != nil && b.Accessory.ButtonElement != nil {
			acc := *b.Accessory
			acc.ButtonElement = fitButton(b.Accessory.ButtonElement)
			c.Accessory = &acc
		}
		return &c
	case *slack.HeaderBlock:
		c := *b
		c.Text = fitText(b.Text, MaxHeaderText)
		return &c
	case *slack.ContextBlock:
		c := *b
		els := b.ContextElements.Elements
		n := min(len(els), MaxContextElements)
		c.ContextElements.Elements = make([]slack.MixedElement, n)
		for i := range n {
			if t, ok := els[i].(*slack.TextBlockObject); ok {
				c.ContextElements.Elements[i] = fitText(t, MaxContextText)
			} else {
				c.ContextElements.Elements[i] = els[i]
			}
		}
		return &c
	case *slack.ActionBlock:
		c := *b
		if b.Elements != nil {
			els := b.Elements.ElementSet
			n := min(len(els), MaxActionElements)
			set := make([]slack.BlockElement, n)
			for i := range n {
				if btn, ok := els[i].(*slack.ButtonBlockElement); ok {
					set[i] = fitButton(btn)
				} else {
					set[i] = els[i]
				}
			}
			c.Elements = &slack.BlockElements{ElementSet: set}
		}
		return &c
	}
	return b
}

func fitButton(b *slack.ButtonBlockElement) *slack.ButtonBlockElement {
	c := *b
	c.Text = fitText(b.Text, MaxButtonText)
	if runeLen(c.Value) > MaxButtonValue {
		// A cut value would be garbage to whoever decodes it; drop it instead.
		c.Value = ""
	}
	if runeLen(c.URL) > MaxButtonURL {
		c.URL = ""
	}
	return &c
}

func fitText(t *slack.TextBlockObject, limit int) *slack.TextBlockObject {
	if t == nil || runeLen(t.Text) <= limit {
		return t
	}
	c := *t
	if t.Type == slack.MarkdownType {
		c.Text = truncMrkdwn(t.Text, limit)
	} else {
		c.Text = truncPlain(t.Text, limit)
	}
	return &c
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// cutRunes returns the first n runes of s.
func cutRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// truncPlain cuts s to at most limit runes, the last one being "…".
func truncPlain(s string, limit int) string {
	if runeLen(s) <= limit {
		return s
	}
	return cutRunes(s, limit-1) + ellipsis
}

// truncMrkdwn is truncPlain for mrkdwn: it prefers a line break in the second
// half of the text and otherwise backs off so that the cut does not leave a
// half <link|text>, a half &amp; or an unclosed `code span`.
func truncMrkdwn(s string, limit int) string {
	if runeLen(s) <= limit {
		return s
	}
	cut := cutRunes(s, limit-2) // room for "\n…"
	if i := strings.LastIndexByte(cut, '\n'); i > 0 && i >= len(cut)/2 {
		return cut[:i] + "\n" + ellipsis
	}
	if lt := strings.LastIndexByte(cut, '<'); lt >= 0 && lt > strings.LastIndexByte(cut, '>') {
		cut = cut[:lt]
	}
	if amp := strings.LastIndexByte(cut, '&'); amp >= 0 && amp > strings.LastIndexByte(cut, ';') && len(cut)-amp <= len("&amp;") {
		cut = cut[:amp]
	}
	if strings.Count(cut, "`")%2 == 1 {
		cut = cut[:strings.LastIndexByte(cut, '`')]
	}
	return cut + ellipsis
}

// CheckLimits marshals blocks to JSON, as Slack would receive them, and
// reports every Block Kit limit they break (block count, text lengths, empty
// texts, element counts, button label/value/url, id lengths, unknown block
// types). It returns nil when all is well.
func CheckLimits(blocks []slack.Block) error {
	raw, err := json.Marshal(blocks)
	if err != nil {
		return fmt.Errorf("marshal blocks: %w", err)
	}
	var bs []map[string]any
	if err := json.Unmarshal(raw, &bs); err != nil {
		return fmt.Errorf("unmarshal blocks: %w", err)
	}
	var c checker
	c.blocks("message", bs, MaxBlocks)
	return errors.Join(c.errs...)
}

// CheckView is CheckLimits for a modal or Home tab view (a
// slack.ModalViewRequest or slack.HomeTabViewRequest): at most
// MaxViewBlocks blocks, a title, submit and close of at most MaxModalTitle
// characters, private_metadata and callback_id within their limits, and
// selects of at most MaxOptions options.
func CheckView(view any) error {
	raw, err := json.Marshal(view)
	if err != nil {
		return fmt.Errorf("marshal view: %w", err)
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("unmarshal view: %w", err)
	}
	var c checker
	typ, _ := v["type"].(string)
	if typ != "modal" && typ != "home" {
		c.fail("view", "type %q", typ)
	}
	for _, k := range []string{"title", "submit", "close"} {
		if t, ok := v[k]; ok {
			c.text("view "+k, t, MaxModalTitle, "plain_text")
		} else if k == "title" && typ == "modal" {
			c.fail("view", "no title")
		}
	}
	if s, _ := v["private_metadata"].(string); runeLen(s) > MaxPrivateMetadata {
		c.fail("view", "private_metadata has %d characters, limit %d", runeLen(s), MaxPrivateMetadata)
	}
	c.id("view", "callback_id", v["callback_id"])
	bs, _ := v["blocks"].([]any)
	blocks := make([]map[string]any, 0, len(bs))
	for _, b := range bs {
		m, _ := b.(map[string]any)
		blocks = append(blocks, m)
	}
	c.blocks("view", blocks, MaxViewBlocks)
	return errors.Join(c.errs...)
}

type checker struct{ errs []error }

func (c *checker) blocks(where string, bs []map[string]any, limit int) {
	if len(bs) > limit {
		c.fail(where, "%d blocks, limit %d", len(bs), limit)
	}
	inputs := map[string]bool{}
	for i, b := range bs {
		c.block(fmt.Sprintf("block %d", i), b)
		if id, _ := b["block_id"].(string); id != "" && b["type"] == "input" {
			if inputs[id] {
				c.fail(fmt.Sprintf("block %d", i), "block_id %q used twice", id)
			}
			inputs[id] = true
		}
	}
}

func (c *checker) fail(where, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
}

func (c *checker) block(where string, b map[string]any) {
	typ, _ := b["type"].(string)
	where += " (" + typ + ")"
	c.id(where, "block_id", b["block_id"])
	switch typ {
	case "section":
		_, hasText := b["text"]
		fields, _ := b["fields"].([]any)
		if !hasText && len(fields) == 0 {
			c.fail(where, "neither text nor fields")
		}
		if hasText {
			c.text(where+" text", b["text"], MaxSectionText, "")
		}
		if len(fields) > MaxSectionFields {
			c.fail(where, "%d fields, limit %d", len(fields), MaxSectionFields)
		}
		for i, f := range fields {
			c.text(fmt.Sprintf("%s field %d", where, i), f, MaxFieldText, "")
		}
		if acc, ok := b["accessory"].(map[string]any); ok {
			c.element(where+" accessory", acc)
		}
	case "header":
		c.text(where+" text", b["text"], MaxHeaderText, "plain_text")
	case "context":
		els, _ := b["elements"].([]any)
		if len(els) == 0 || len(els) > MaxContextElements {
			c.fail(where, "%d elements, want 1..%d", len(els), MaxContextElements)
		}
		for i, e := range els {
			if m, ok := e.(map[string]any); ok && m["type"] == "image" {
				continue
			}
			c.text(fmt.Sprintf("%s element %d", where, i), e, MaxContextText, "")
		}
	case "actions":
		els, _ := b["elements"].([]any)
		if len(els) == 0 || len(els) > MaxActionElements {
			c.fail(where, "%d elements, want 1..%d", len(els), MaxActionElements)
		}
		seen := map[string]bool{}
		for i, e := range els {
			m, _ := e.(map[string]any)
			c.element(fmt.Sprintf("%s element %d", where, i), m)
			if id, _ := m["action_id"].(string); id != "" {
				if seen[id] {
					c.fail(where, "action_id %q used twice", id)
				}
				seen[id] = true
			}
		}
	case "input":
		c.text(where+" label", b["label"], 2000, "plain_text")
		if h, ok := b["hint"]; ok {
			c.text(where+" hint", h, 2000, "plain_text")
		}
		m, _ := b["element"].(map[string]any)
		c.element(where+" element", m)
	case "divider":
	default:
		c.fail(where, "unexpected block type")
	}
}

func (c *checker) element(where string, e map[string]any) {
	if e == nil {
		c.fail(where, "missing element")
		return
	}
	c.id(where, "action_id", e["action_id"])
	switch typ, _ := e["type"].(string); typ {
	case "button":
		c.text(where+" text", e["text"], MaxButtonText, "plain_text")
		if v, _ := e["value"].(string); runeLen(v) > MaxButtonValue {
			c.fail(where, "value has %d characters, limit %d", runeLen(v), MaxButtonValue)
		}
		if u, _ := e["url"].(string); runeLen(u) > MaxButtonURL {
			c.fail(where, "url has %d characters, limit %d", runeLen(u), MaxButtonURL)
		}
	case "plain_text_input":
		if v, _ := e["initial_value"].(string); runeLen(v) > MaxButtonURL {
			c.fail(where, "initial_value has %d characters, limit %d", runeLen(v), MaxButtonURL)
		}
	case "static_select", "external_select":
		opts, _ := e["options"].([]any)
		if typ == "static_select" && (len(opts) == 0 || len(opts) > MaxOptions) {
			c.fail(where, "%d options, want 1..%d", len(opts), MaxOptions)
		}
		if typ == "external_select" && len(opts) > 0 {
			c.fail(where, "an external select lists no options of its own")
		}
		for i, o := range opts {
			m, _ := o.(map[string]any)
			c.option(fmt.Sprintf("%s option %d", where, i), m)
		}
		if init, ok := e["initial_option"].(map[string]any); ok {
			c.option(where+" initial_option", init)
		}
	default:
		c.fail(where, "unexpected element type %q", typ)
	}
}

func (c *checker) option(where string, o map[string]any) {
	c.text(where+" text", o["text"], MaxOptionText, "")
	if v, _ := o["value"].(string); v == "" || runeLen(v) > MaxOptionValue {
		c.fail(where, "value has %d characters, want 1..%d", runeLen(v), MaxOptionValue)
	}
}

func (c *checker) id(where, name string, v any) {
	if s, _ := v.(string); runeLen(s) > MaxID {
		c.fail(where, "%s has %d characters, limit %d", name, runeLen(s), MaxID)
	}
}

// text checks a text object: the wanted type (if any), 1..limit characters.
func (c *checker) text(where string, v any, limit int, wantType string) {
	m, ok := v.(map[string]any)
	if !ok {
		c.fail(where, "missing text object")
		return
	}
	typ, _ := m["type"].(string)
	if typ != "plain_text" && typ != "mrkdwn" {
		c.fail(where, "text type %q", typ)
	}
	if wantType != "" && typ != wantType {
		c.fail(where, "text type %q, want %q", typ, wantType)
	}
	s, _ := m["text"].(string)
	switch n := runeLen(s); {
	case strings.TrimSpace(s) == "":
		c.fail(where, "empty text")
	case n > limit:
		c.fail(where, "%d characters, limit %d", n, limit)
	}
}
