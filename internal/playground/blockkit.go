package playground

import (
	"encoding/json"
	"html"
	"strconv"
	"strings"
	"time"
)

// Renderer turns Block Kit JSON and Slack mrkdwn into HTML for the page.
// It is a pure function of its input (and the clock, for "Today" in
// dates): the same blocks always give the same HTML. Every string from a
// block is escaped; the only markup in the output is the renderer's own.
//
// Interactive elements carry data attributes the page's script reads:
// data-block-id and data-action-id on buttons, selects and inputs, and
// data-confirm (a child template) where Slack would ask first. Buttons are
// <button> elements named by their Slack text.
type Renderer struct {
	emoji    map[string]string
	unescape *strings.Replacer
	now      func() time.Time
}

// NewRenderer returns a Renderer; now is used for relative dates ("Today")
// and defaults to time.Now.
func NewRenderer(now func() time.Time) *Renderer {
	if now == nil {
		now = time.Now
	}
	return &Renderer{
		emoji:    emojiTable(),
		unescape: strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">"),
		now:      now,
	}
}

// Mrkdwn renders one mrkdwn text.
func (r *Renderer) Mrkdwn(s string, n Names) string { return r.mrkdwn(s, n) }

// textObject is a Block Kit text object.
type textObject struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji *bool  `json:"emoji"`
}

// text renders a text object: mrkdwn, or plain text (with :emoji: when
// emoji is not false).
func (r *Renderer) text(t *textObject, n Names) string {
	if t == nil {
		return ""
	}
	if t.Type == "mrkdwn" {
		return r.mrkdwn(t.Text, n)
	}
	out := strings.ReplaceAll(html.EscapeString(t.Text), "\n", "<br>")
	if t.Emoji == nil || *t.Emoji {
		out = r.emojify(out)
	}
	return out
}

// plain is a text object's text as plain characters, for attributes.
func plain(t *textObject) string {
	if t == nil {
		return ""
	}
	return t.Text
}

type option struct {
	Text        *textObject `json:"text"`
	Value       string      `json:"value"`
	Description *textObject `json:"description"`
}

type confirm struct {
	Title   *textObject `json:"title"`
	Text    *textObject `json:"text"`
	Confirm *textObject `json:"confirm"`
	Deny    *textObject `json:"deny"`
	Style   string      `json:"style"`
}

type element struct {
	Type         string      `json:"type"`
	ActionID     string      `json:"action_id"`
	Text         *textObject `json:"text"`
	Value        string      `json:"value"`
	URL          string      `json:"url"`
	Style        string      `json:"style"`
	Confirm      *confirm    `json:"confirm"`
	Placeholder  *textObject `json:"placeholder"`
	Options      []option    `json:"options"`
	OptionGroups []struct {
		Label   *textObject `json:"label"`
		Options []option    `json:"options"`
	} `json:"option_groups"`
	InitialOption  *option `json:"initial_option"`
	InitialValue   string  `json:"initial_value"`
	Multiline      bool    `json:"multiline"`
	MinQueryLength *int    `json:"min_query_length"`
	MaxLength      int     `json:"max_length"`
	ImageURL       string  `json:"image_url"`
	AltText        string  `json:"alt_text"`
}

type block struct {
	Type      string          `json:"type"`
	BlockID   string          `json:"block_id"`
	Text      *textObject     `json:"text"`
	Fields    []*textObject   `json:"fields"`
	Accessory *element        `json:"accessory"`
	Elements  json.RawMessage `json:"elements"`
	Element   *element        `json:"element"`
	Label     *textObject     `json:"label"`
	Hint      *textObject     `json:"hint"`
	Optional  bool            `json:"optional"`
	// DispatchAction makes an input tell the bot when it changes.
	DispatchAction bool        `json:"dispatch_action"`
	ImageURL       string      `json:"image_url"`
	AltText        string      `json:"alt_text"`
	Title          *textObject `json:"title"`
}

// inputState is what a modal shows in its inputs and beside them.
type inputState struct {
	values map[string]map[string]any // block ID -> action ID -> state
	errors map[string]string         // block ID -> inline error
}

// Blocks renders a block list. Unknown block types render as a short note,
// so a new block in the bot shows up instead of vanishing.
func (r *Renderer) Blocks(raw json.RawMessage, n Names) string {
	return r.blocks(raw, n, inputState{})
}

func (r *Renderer) blocks(raw json.RawMessage, n Names, st inputState) string {
	if len(raw) == 0 {
		return ""
	}
	var list []block
	if err := json.Unmarshal(raw, &list); err != nil {
		return `<p class="sk-unsupported">(blocks the playground cannot read)</p>`
	}
	var b strings.Builder
	for _, bl := range list {
		r.block(&b, bl, n, st)
	}
	return b.String()
}

func (r *Renderer) block(b *strings.Builder, bl block, n Names, st inputState) {
	id := html.EscapeString(bl.BlockID)
	switch bl.Type {
	case "header":
		b.WriteString(`<h3 class="sk-header">` + r.text(bl.Text, n) + `</h3>`)
	case "divider":
		b.WriteString(`<hr class="sk-divider">`)
	case "section":
		b.WriteString(`<div class="sk-section" data-block-id="` + id + `"><div class="sk-section-body">`)
		if bl.Text != nil {
			b.WriteString(`<div class="sk-text">` + r.text(bl.Text, n) + `</div>`)
		}
		if len(bl.Fields) > 0 {
			b.WriteString(`<div class="sk-fields">`)
			for _, f := range bl.Fields {
				b.WriteString(`<div class="sk-field">` + r.text(f, n) + `</div>`)
			}
			b.WriteString(`</div>`)
		}
		b.WriteString(`</div>`)
		if bl.Accessory != nil {
			b.WriteString(`<div class="sk-accessory">`)
			r.element(b, bl.BlockID, bl.Accessory, n)
			b.WriteString(`</div>`)
		}
		b.WriteString(`</div>`)
	case "context":
		var els []json.RawMessage
		_ = json.Unmarshal(bl.Elements, &els)
		b.WriteString(`<div class="sk-context">`)
		for _, raw := range els {
			var e element
			var t textObject
			_ = json.Unmarshal(raw, &e)
			if e.Type == "image" {
				b.WriteString(`<span class="sk-image-alt">` + html.EscapeString(e.AltText) + `</span>`)
				continue
			}
			_ = json.Unmarshal(raw, &t)
			b.WriteString(`<span class="sk-context-item">` + r.text(&t, n) + `</span>`)
		}
		b.WriteString(`</div>`)
	case "actions":
		var els []*element
		_ = json.Unmarshal(bl.Elements, &els)
		b.WriteString(`<div class="sk-actions" data-block-id="` + id + `">`)
		for _, e := range els {
			r.element(b, bl.BlockID, e, n)
		}
		b.WriteString(`</div>`)
	case "input":
		r.input(b, bl, n, st)
	case "image":
		// Images would be fetched from the internet: show the words only.
		b.WriteString(`<p class="sk-image-alt">` + html.EscapeString("[image: "+bl.AltText+"]") + `</p>`)
	default:
		b.WriteString(`<p class="sk-unsupported">` + html.EscapeString("("+bl.Type+" block)") + `</p>`)
	}
}

// element renders an interactive element of a section or actions block.
func (r *Renderer) element(b *strings.Builder, blockID string, e *element, n Names) {
	if e == nil {
		return
	}
	attrs := ` data-block-id="` + html.EscapeString(blockID) + `" data-action-id="` + html.EscapeString(e.ActionID) + `"`
	switch e.Type {
	case "button":
		class := "sk-btn"
		if e.Style == "primary" || e.Style == "danger" {
			class += " sk-" + e.Style
		}
		if e.URL != "" {
			attrs += ` data-url="` + html.EscapeString(e.URL) + `"`
		}
		b.WriteString(`<button type="button" class="` + class + `"` + attrs + `>` + r.text(e.Text, n) + `</button>`)
		r.confirm(b, e.Confirm, n)
	case "static_select", "overflow":
		label := plain(e.Placeholder)
		class := "sk-select"
		if e.Type == "overflow" {
			label, class = "More actions", "sk-overflow"
		}
		b.WriteString(`<select class="` + class + `" aria-label="` + html.EscapeString(label) + `"` + attrs + `>`)
		first := "⋯"
		if e.Type != "overflow" {
			first = label
		}
		b.WriteString(`<option value="">` + html.EscapeString(first) + `</option>`)
		r.options(b, e, "")
		b.WriteString(`</select>`)
		r.confirm(b, e.Confirm, n)
	case "external_select":
		r.combobox(b, attrs, e, "")
	case "image":
		b.WriteString(`<span class="sk-image-alt">` + html.EscapeString("[image: "+e.AltText+"]") + `</span>`)
	default:
		b.WriteString(`<span class="sk-unsupported">` + html.EscapeString("("+e.Type+")") + `</span>`)
	}
}

// options writes a select's options and option groups, selecting value.
func (r *Renderer) options(b *strings.Builder, e *element, selected string) {
	opt := func(o option) {
		sel := ""
		if o.Value == selected && selected != "" {
			sel = " selected"
		}
		b.WriteString(`<option value="` + html.EscapeString(o.Value) + `"` + sel + `>` + html.EscapeString(plain(o.Text)) + `</option>`)
	}
	for _, o := range e.Options {
		opt(o)
	}
	for _, g := range e.OptionGroups {
		b.WriteString(`<optgroup label="` + html.EscapeString(plain(g.Label)) + `">`)
		for _, o := range g.Options {
			opt(o)
		}
		b.WriteString(`</optgroup>`)
	}
}

// combobox is an external select: a text box whose suggestions come from
// the bot through block_suggestion.
func (r *Renderer) combobox(b *strings.Builder, attrs string, e *element, value string) {
	minLen := 3
	if e.MinQueryLength != nil {
		minLen = *e.MinQueryLength
	}
	label := plain(e.Placeholder)
	if label == "" {
		label = "Search"
	}
	b.WriteString(`<input type="text" role="combobox" autocomplete="off" class="sk-external" aria-label="` + html.EscapeString(label) +
		`" placeholder="` + html.EscapeString(label) + `" data-min-query-length="` + strconv.Itoa(minLen) + `" value="` + html.EscapeString(value) + `"` + attrs + `>`)
}

// confirm writes a confirm dialog's content for the script to show.
func (r *Renderer) confirm(b *strings.Builder, c *confirm, n Names) {
	if c == nil {
		return
	}
	yes, no := plain(c.Confirm), plain(c.Deny)
	if yes == "" {
		yes = "Yes"
	}
	if no == "" {
		no = "Cancel"
	}
	style := "primary"
	if c.Style == "danger" {
		style = "danger"
	}
	b.WriteString(`<template class="sk-confirm" data-style="` + style + `"><h2 class="sk-modal-title">` + r.text(c.Title, n) + `</h2><div class="sk-text">` +
		r.text(c.Text, n) + `</div><div class="sk-confirm-buttons"><button type="button" class="sk-btn" data-deny>` + html.EscapeString(no) +
		`</button><button type="button" class="sk-btn sk-` + style + `" data-confirm>` + html.EscapeString(yes) + `</button></div></template>`)
}

// input renders an input block of a modal with its current value and
// inline error.
func (r *Renderer) input(b *strings.Builder, bl block, n Names, st inputState) {
	e := bl.Element
	if e == nil {
		return
	}
	blockID := html.EscapeString(bl.BlockID)
	inputID := "in-" + blockID + "-" + html.EscapeString(e.ActionID)
	errText := st.errors[bl.BlockID]
	cls := "sk-input"
	if errText != "" {
		cls += " sk-has-error"
	}
	b.WriteString(`<div class="` + cls + `" data-block-id="` + blockID + `">`)
	b.WriteString(`<label class="sk-label" for="` + inputID + `">` + r.text(bl.Label, n))
	if bl.Optional {
		b.WriteString(` <span class="sk-optional">(optional)</span>`)
	}
	b.WriteString(`</label>`)
	state, _ := st.values[bl.BlockID][e.ActionID].(map[string]any)
	value, _ := state["value"].(string)
	if state == nil {
		value = e.InitialValue
	}
	selected := ""
	if so, ok := state["selected_option"].(map[string]any); ok {
		selected, _ = so["value"].(string)
	} else if state == nil && e.InitialOption != nil {
		selected = e.InitialOption.Value
	}
	attrs := ` id="` + inputID + `" data-block-id="` + blockID + `" data-action-id="` + html.EscapeString(e.ActionID) + `" data-input`
	if bl.DispatchAction {
		attrs += ` data-dispatch`
	}
	if errText != "" {
		attrs += ` aria-invalid="true" aria-describedby="` + inputID + `-error"`
	}
	switch e.Type {
	case "plain_text_input":
		ph := ""
		if e.Placeholder != nil {
			ph = ` placeholder="` + html.EscapeString(plain(e.Placeholder)) + `"`
		}
		if e.MaxLength > 0 {
			ph += ` maxlength="` + strconv.Itoa(e.MaxLength) + `"`
		}
		if e.Multiline {
			b.WriteString(`<textarea class="sk-textarea"` + attrs + ph + `>` + html.EscapeString(value) + `</textarea>`)
		} else {
			b.WriteString(`<input type="text" class="sk-textbox"` + attrs + ph + ` value="` + html.EscapeString(value) + `">`)
		}
	case "static_select":
		b.WriteString(`<select class="sk-select"` + attrs + `><option value="">` + html.EscapeString(plain(e.Placeholder)) + `</option>`)
		r.options(b, e, selected)
		b.WriteString(`</select>`)
	case "external_select":
		text := ""
		if so, ok := state["selected_option"].(map[string]any); ok {
			if t, ok := so["text"].(map[string]any); ok {
				text, _ = t["text"].(string)
			}
		}
		r.combobox(b, attrs+` data-value="`+html.EscapeString(selected)+`"`, e, text)
	default:
		b.WriteString(`<span class="sk-unsupported">` + html.EscapeString("("+e.Type+")") + `</span>`)
	}
	if bl.Hint != nil {
		b.WriteString(`<p class="sk-hint">` + r.text(bl.Hint, n) + `</p>`)
	}
	if errText != "" {
		b.WriteString(`<p class="sk-error" id="` + inputID + `-error" role="alert">` + html.EscapeString(errText) + `</p>`)
	}
	b.WriteString(`</div>`)
}

// view is a modal or Home view's JSON.
type view struct {
	Type   string          `json:"type"`
	Title  *textObject     `json:"title"`
	Submit *textObject     `json:"submit"`
	Close  *textObject     `json:"close"`
	Blocks json.RawMessage `json:"blocks"`
}

// ModalInput is what Modal needs beyond the view JSON.
type ModalInput struct {
	ID      string
	JSON    json.RawMessage
	Values  map[string]map[string]any
	Errors  map[string]string
	Problem string
}

// Modal renders a modal view as a dialog with its inputs, inline errors
// and Submit and Close buttons.
func (r *Renderer) Modal(m ModalInput, n Names) string {
	var v view
	_ = json.Unmarshal(m.JSON, &v)
	var b strings.Builder
	titleID := "modal-title-" + html.EscapeString(m.ID)
	b.WriteString(`<div class="sk-modal" role="dialog" aria-modal="true" aria-labelledby="` + titleID + `" data-view-id="` + html.EscapeString(m.ID) + `">`)
	b.WriteString(`<form class="sk-modal-form" novalidate><h2 class="sk-modal-title" id="` + titleID + `">` + r.text(v.Title, n) + `</h2>`)
	b.WriteString(`<div class="sk-modal-body">`)
	if m.Problem != "" {
		b.WriteString(`<p class="sk-error sk-problem" role="alert">` + html.EscapeString(m.Problem) + `</p>`)
	}
	b.WriteString(r.blocks(v.Blocks, n, inputState{values: m.Values, errors: m.Errors}))
	b.WriteString(`</div><div class="sk-modal-buttons">`)
	closeText := plain(v.Close)
	if closeText == "" {
		closeText = "Cancel"
	}
	b.WriteString(`<button type="button" class="sk-btn" data-modal-close>` + html.EscapeString(closeText) + `</button>`)
	if v.Submit != nil {
		b.WriteString(`<button type="submit" class="sk-btn sk-primary" data-modal-submit>` + html.EscapeString(plain(v.Submit)) + `</button>`)
	}
	b.WriteString(`</div></form></div>`)
	return b.String()
}

// Home renders an App Home view.
func (r *Renderer) Home(raw json.RawMessage, n Names) string {
	var v view
	_ = json.Unmarshal(raw, &v)
	return `<div class="sk-home">` + r.blocks(v.Blocks, n, inputState{}) + `</div>`
}
