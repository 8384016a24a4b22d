package slackfake

import (
	"encoding/json"
	"fmt"
)

// Block Kit limits the fake enforces (docs.slack.dev Block Kit reference;
// per-field numbers as in @slack/types).
const (
	maxMessageBlocks   = 50
	maxViewBlocks      = 100
	maxUpdateText      = 4000 // chat.update answers msg_too_long above this
	maxSectionText     = 3000
	maxSectionFields   = 10
	maxFieldText       = 2000
	maxHeaderText      = 150
	maxActionsElements = 25
	maxContextElements = 10
	maxID              = 255 // block_id, action_id, callback_id
	maxButtonText      = 75
	maxButtonValue     = 2000
	maxButtonURL       = 3000
	maxOptions         = 100
	maxOptionText      = 75
	maxOptionValue     = 150
	maxViewTitle       = 24 // also submit and close
	maxPrivateMetadata = 3000
)

// checkMessage validates a message for chat.postMessage, chat.postEphemeral,
// chat.update and response_url. blocks and attachments are JSON text ("" when
// absent). It returns the Slack error code, or "".
func checkMessage(text, blocks, attachments string, update bool) string {
	if text == "" && blocks == "" && attachments == "" {
		return "no_text"
	}
	if update && runeLen(text) > maxUpdateText {
		return "msg_too_long"
	}
	if blocks == "" {
		return ""
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(blocks), &list); err != nil {
		return "invalid_blocks_format"
	}
	if len(list) > maxMessageBlocks {
		return "invalid_blocks"
	}
	if blockProblem(list) != "" {
		return "invalid_blocks"
	}
	return ""
}

// checkView validates a modal or Home tab view; Slack answers
// invalid_arguments for every problem.
func checkView(view map[string]any) string {
	for _, key := range []string{"title", "submit", "close"} {
		if runeLen(textOf(view[key])) > maxViewTitle {
			return "invalid_arguments"
		}
	}
	if runeLen(str(view["private_metadata"])) > maxPrivateMetadata || runeLen(str(view["callback_id"])) > maxID {
		return "invalid_arguments"
	}
	raw, err := json.Marshal(view["blocks"])
	if err != nil {
		return "invalid_arguments"
	}
	var list []map[string]any
	if err := json.Unmarshal(raw, &list); err != nil || len(list) > maxViewBlocks || blockProblem(list) != "" {
		return "invalid_arguments"
	}
	return ""
}

// blockProblem describes the first limit a block list breaks, or "".
func blockProblem(blocks []map[string]any) string {
	for i, b := range blocks {
		if p := oneBlockProblem(b); p != "" {
			return fmt.Sprintf("block %d: %s", i, p)
		}
	}
	return ""
}

func oneBlockProblem(b map[string]any) string {
	if runeLen(str(b["block_id"])) > maxID {
		return "block_id too long"
	}
	switch str(b["type"]) {
	case "section":
		if runeLen(textOf(b["text"])) > maxSectionText {
			return "section text too long"
		}
		fields := list(b["fields"])
		if len(fields) > maxSectionFields {
			return "too many fields"
		}
		for _, f := range fields {
			if runeLen(textOf(f)) > maxFieldText {
				return "field text too long"
			}
		}
		if acc, ok := b["accessory"].(map[string]any); ok {
			return elementProblem(acc)
		}
	case "header":
		if runeLen(textOf(b["text"])) > maxHeaderText {
			return "header text too long"
		}
	case "actions":
		els := list(b["elements"])
		if len(els) > maxActionsElements {
			return "too many elements"
		}
		for _, e := range els {
			if m, ok := e.(map[string]any); ok {
				if p := elementProblem(m); p != "" {
					return p
				}
			}
		}
	case "context":
		if len(list(b["elements"])) > maxContextElements {
			return "too many elements"
		}
	case "input":
		if el, ok := b["element"].(map[string]any); ok {
			return elementProblem(el)
		}
	}
	return ""
}

func elementProblem(e map[string]any) string {
	if runeLen(str(e["action_id"])) > maxID {
		return "action_id too long"
	}
	if str(e["type"]) == "button" {
		if runeLen(textOf(e["text"])) > maxButtonText || runeLen(str(e["value"])) > maxButtonValue ||
			runeLen(str(e["url"])) > maxButtonURL {
			return "button too long"
		}
	}
	opts := list(e["options"])
	if len(opts) > maxOptions || len(list(e["option_groups"])) > maxOptions {
		return "too many options"
	}
	for _, o := range opts {
		m, _ := o.(map[string]any)
		if runeLen(textOf(m["text"])) > maxOptionText || runeLen(str(m["value"])) > maxOptionValue {
			return "option too long"
		}
	}
	return ""
}

// textOf returns the "text" of a text object, or the value itself when it is
// a plain string.
func textOf(v any) string {
	if m, ok := v.(map[string]any); ok {
		return str(m["text"])
	}
	return str(v)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}
