package slackapp

import (
	"fmt"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

func sections(n int) []slack.Block {
	bs := make([]slack.Block, n)
	for i := range bs {
		bs[i] = sectionBlock(fmt.Sprintf("section %d", i))
	}
	return bs
}

func TestFitBlockCount(t *testing.T) {
	t.Parallel()
	next := slack.NewActionBlock("", slack.NewButtonBlockElement(string(ActionNextPage), "v", plainText("Next page")))
	tests := []struct {
		name     string
		in       []slack.Block
		wantLen  int
		wantMore string // text of the "…and N more" block, "" if none
		wantLast slack.Block
	}{
		{"under the limit", sections(10), 10, "", nil},
		{"at the limit", sections(MaxBlocks), MaxBlocks, "", nil},
		{"over the limit", sections(60), MaxBlocks, "…and 11 more, narrow your search.", nil},
		{"over the limit with a trailing button", append(sections(70), next), MaxBlocks, "…and 22 more, narrow your search.", next},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := Fit(Message{Text: "t", Blocks: tt.in})
			if len(m.Blocks) != tt.wantLen {
				t.Fatalf("Fit: %d blocks, want %d", len(m.Blocks), tt.wantLen)
			}
			if err := CheckLimits(m.Blocks); err != nil {
				t.Errorf("CheckLimits: %v", err)
			}
			if tt.wantMore == "" {
				return
			}
			moreAt := len(m.Blocks) - 1
			if tt.wantLast != nil {
				moreAt--
				if m.Blocks[len(m.Blocks)-1].BlockType() != slack.MBTAction {
					t.Errorf("last block is %s, want the actions block kept", m.Blocks[len(m.Blocks)-1].BlockType())
				}
			}
			cb, ok := m.Blocks[moreAt].(*slack.ContextBlock)
			if !ok {
				t.Fatalf("block %d is %T, want a context block", moreAt, m.Blocks[moreAt])
			}
			if got := cb.ContextElements.Elements[0].(*slack.TextBlockObject).Text; got != tt.wantMore {
				t.Errorf("more text = %q, want %q", got, tt.wantMore)
			}
			// The blocks kept are the first ones, in order.
			if got := m.Blocks[moreAt-1].(*slack.SectionBlock).Text.Text; got != fmt.Sprintf("section %d", moreAt-1) {
				t.Errorf("block before the note = %q", got)
			}
		})
	}
}

func TestFitTexts(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 5000) // multi-byte, to catch byte-based cuts
	fields := make([]*slack.TextBlockObject, 12)
	for i := range fields {
		fields[i] = mrkdwn(long)
	}
	ctxEls := make([]slack.MixedElement, 12)
	for i := range ctxEls {
		ctxEls[i] = mrkdwn(long)
	}
	btn := slack.NewButtonBlockElement("a", strings.Repeat("v", MaxButtonValue+1), plainText(long))
	btn.URL = "https://x.example/" + strings.Repeat("u", MaxButtonURL)
	buttons := make([]slack.BlockElement, 30)
	for i := range buttons {
		b := *btn
		b.ActionID = fmt.Sprintf("a%d", i) // unique within the block, as Slack wants
		buttons[i] = &b
	}
	in := Message{
		Text: long,
		Blocks: []slack.Block{
			slack.NewHeaderBlock(plainText(long)),
			slack.NewSectionBlock(mrkdwn(long), fields, slack.NewAccessory(btn)),
			slack.NewContextBlock("", ctxEls...),
			slack.NewActionBlock("", buttons...),
		},
	}
	if err := CheckLimits(in.Blocks); err == nil {
		t.Fatal("CheckLimits accepted the oversized input")
	}
	before := string(marshal(t, in))

	m := Fit(in)
	if err := CheckLimits(m.Blocks); err != nil {
		t.Errorf("CheckLimits after Fit: %v", err)
	}
	if after := string(marshal(t, in)); after != before {
		t.Error("Fit modified its input")
	}
	if n := runeLen(m.Text); n > MaxMessageText || n < MaxMessageText-2 || !strings.HasSuffix(m.Text, ellipsis) {
		t.Errorf("Text: %d runes, suffix %q", n, m.Text[len(m.Text)-6:])
	}
	if h := m.Blocks[0].(*slack.HeaderBlock).Text.Text; runeLen(h) != MaxHeaderText || !strings.HasSuffix(h, ellipsis) {
		t.Errorf("header: %d runes", runeLen(h))
	}
	sec := m.Blocks[1].(*slack.SectionBlock)
	if n := runeLen(sec.Text.Text); n > MaxSectionText || n < MaxSectionText-2 {
		t.Errorf("section text: %d runes", n)
	}
	if len(sec.Fields) != MaxSectionFields {
		t.Errorf("section fields: %d", len(sec.Fields))
	}
	if b := sec.Accessory.ButtonElement; b.Value != "" || b.URL != "" || runeLen(b.Text.Text) != MaxButtonText {
		t.Errorf("accessory button: value %d, url %d, text %d", len(b.Value), len(b.URL), runeLen(b.Text.Text))
	}
	if n := len(m.Blocks[2].(*slack.ContextBlock).ContextElements.Elements); n != MaxContextElements {
		t.Errorf("context elements: %d", n)
	}
	if n := len(m.Blocks[3].(*slack.ActionBlock).Elements.ElementSet); n != MaxActionElements {
		t.Errorf("action elements: %d", n)
	}
}

func TestTruncMrkdwn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		limit    int
		want     string
	}{
		{"fits", "short", 10, "short"},
		{"prefers a line break", "line one\nline two\nline three", 22, "line one\nline two\n…"},
		{"does not cut a link", "see <https://example.com/a|the page> now", 20, "see …"},
		{"does not cut an entity", "aaaaaaaaa &amp; b", 14, "aaaaaaaaa …"},
		{"does not leave a code span open", "use `some-long-key` here", 12, "use …"},
		{"multi-byte", "ééééééé", 5, "ééé…"},
	}
	for _, tt := range tests {
		got := truncMrkdwn(tt.in, tt.limit)
		if got != tt.want {
			t.Errorf("%s: truncMrkdwn(%q, %d) = %q, want %q", tt.name, tt.in, tt.limit, got, tt.want)
		}
		if runeLen(got) > tt.limit {
			t.Errorf("%s: %d runes, limit %d", tt.name, runeLen(got), tt.limit)
		}
	}
}

func TestTruncPlain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"日本語テキスト", 4, "日本語…"},
		{"", 3, ""},
	}
	for _, tt := range tests {
		if got := truncPlain(tt.in, tt.limit); got != tt.want {
			t.Errorf("truncPlain(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
	}
}

// TestCheckLimits proves the checker catches each kind of violation, so the
// golden tests that rely on it can fail.
func TestCheckLimits(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name   string
		blocks []slack.Block
		want   string // substring of the error; "" means valid
	}{
		{"valid", []slack.Block{headerBlock("h"), sectionBlock("s"), contextBlock("c"), slack.NewDividerBlock()}, ""},
		{"too many blocks", sections(MaxBlocks + 1), "51 blocks"},
		{"long section", []slack.Block{sectionBlock(long(MaxSectionText + 1))}, "3001 characters, limit 3000"},
		{"empty section", []slack.Block{sectionBlock("")}, "empty text"},
		{"section without text or fields", []slack.Block{slack.NewSectionBlock(nil, nil, nil)}, "neither text nor fields"},
		{"long header", []slack.Block{slack.NewHeaderBlock(plainText(long(MaxHeaderText + 1)))}, "151 characters, limit 150"},
		{"mrkdwn header", []slack.Block{slack.NewHeaderBlock(mrkdwn("h"))}, `want "plain_text"`},
		{"too many fields", []slack.Block{fieldsBlock(strings.Split(long(11), "")...)}, "11 fields"},
		{"long field", []slack.Block{fieldsBlock(long(MaxFieldText + 1))}, "2001 characters, limit 2000"},
		{"too many context elements", []slack.Block{contextBlock(strings.Split(long(11), "")...)}, "11 elements"},
		{"empty context", []slack.Block{contextBlock()}, "0 elements"},
		{"long button text", []slack.Block{slack.NewActionBlock("", slack.NewButtonBlockElement("a", "v", plainText(long(76))))}, "76 characters, limit 75"},
		{"long button value", []slack.Block{slack.NewActionBlock("", slack.NewButtonBlockElement("a", long(2001), plainText("b")))}, "value has 2001"},
		{"long action id", []slack.Block{slack.NewActionBlock("", slack.NewButtonBlockElement(long(256), "v", plainText("b")))}, "action_id has 256"},
		{"long block id", []slack.Block{slack.NewContextBlock(long(256), mrkdwn("c"))}, "block_id has 256"},
		{"unknown block", []slack.Block{slack.NewImageBlock("https://x.example/i.png", "alt", "", nil)}, "unexpected block type"},
	}
	for _, tt := range tests {
		err := CheckLimits(tt.blocks)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: CheckLimits = %v, want nil", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: CheckLimits = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}
