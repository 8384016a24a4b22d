package slackapp

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/slack-go/slack"
)

func renderShow(r commands.FlagResult) Message {
	f := r.Flag
	fe, ok := f.Environments[r.Env]
	blocks := make([]slack.Block, 0, 12)
	var b strings.Builder
	b.Grow(256)

	writeCode(&b, f.Key)
	if f.Kind != "" {
		b.WriteString(" · ")
		b.WriteString(esc(capitalize(f.Kind)))
	}
	if f.Temporary {
		b.WriteString(" · temporary")
	} else {
		b.WriteString(" · permanent")
	}
	if f.Archived {
		b.WriteString(" · :file_cabinet: *archived*")
	}
	if f.Deprecated {
		b.WriteString(" · :warning: *deprecated*")
	}
	blocks = append(blocks, headerBlock(nameOr(f.Name, f.Key)), sectionBlock(b.String()))
	if d := strings.TrimSpace(f.Description); d != "" {
		blocks = append(blocks, sectionBlock(esc(d)))
	}

	if len(f.Variations) > 0 {
		b.Reset()
		b.WriteString("*Variations*")
		for i := range f.Variations[:min(len(f.Variations), maxVariations)] {
			b.WriteString("\n`")
			b.WriteString(strconv.Itoa(i))
			b.WriteString("` ")
			writeVariation(&b, f, i)
		}
		if n := len(f.Variations) - maxVariations; n > 0 {
			fmt.Fprintf(&b, "\n…and %d more", n)
		}
		blocks = append(blocks, sectionBlock(b.String()))
	}
	blocks = append(blocks, slack.NewDividerBlock())

	text := "Flag " + code(f.Key)
	if ok {
		envCode := code(r.Env)
		b.Reset()
		b.WriteString("*In ")
		b.WriteString(oneLine(nameOr(fe.EnvironmentName, r.Env)))
		b.WriteString("* (")
		b.WriteString(envCode)
		b.WriteString(")")
		if u := siteURL(r.BaseURL, fe.SitePath); u != "" {
			b.WriteString(" · ")
			b.WriteString(link(u, "Open in LaunchDarkly"))
		}
		title := b.String()
		state, onOff := ":white_circle: Off", "off"
		if fe.On {
			state, onOff = ":large_green_circle: On", "on"
		}
		text += " is " + onOff + " in " + envCode
		targets := 0
		for _, t := range fe.Targets {
			targets += len(t.Values)
		}
		for _, t := range fe.ContextTargets {
			targets += len(t.Values)
		}
		fields := make([]string, 0, 7)
		fields = append(fields, "*Status*\n"+state)
		b.Reset()
		b.WriteString("*Default rule*\n")
		writeServe(&b, f, fe.Fallthrough)
		fields = append(fields, b.String())
		b.Reset()
		b.WriteString("*When off*\n")
		if fe.OffVariation != nil {
			writeVariation(&b, f, *fe.OffVariation)
		} else {
			b.WriteString("_not set_")
		}
		fields = append(fields, b.String(),
			"*Individual targets*\n"+strconv.Itoa(targets),
			"*Rules*\n"+strconv.Itoa(len(fe.Rules)))
		b.Reset()
		b.WriteString("*Prerequisites*\n")
		if len(fe.Prerequisites) == 0 {
			b.WriteString("None")
		}
		for i, p := range fe.Prerequisites[:min(len(fe.Prerequisites), maxPrerequisites)] {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(code(p.Key))
			b.WriteString(" serves variation ")
			b.WriteString(strconv.Itoa(p.Variation))
		}
		if n := len(fe.Prerequisites) - maxPrerequisites; n > 0 {
			fmt.Fprintf(&b, "\n…and %d more", n)
		}
		fields = append(fields, b.String())
		if !fe.LastModified.IsZero() {
			fields = append(fields, "*Last modified*\n"+slackDate(fe.LastModified))
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(title), textObjects(fields), nil))
		if len(fe.Rules) > 0 {
			b.Reset()
			b.WriteString("*Rules in ")
			b.WriteString(envCode)
			b.WriteString("*")
			for i, rule := range fe.Rules[:min(len(fe.Rules), maxRules)] {
				n := strconv.Itoa(i + 1)
				b.WriteByte('\n')
				b.WriteString(n)
				b.WriteString(". ")
				if rule.Description != "" {
					b.WriteString(oneLine(truncPlain(rule.Description, maxNameRunes)))
				} else {
					b.WriteString("Rule ")
					b.WriteString(n)
				}
				b.WriteString(" → ")
				writeServe(&b, f, &commands.VariationOrRollout{Variation: rule.Variation, Rollout: rule.Rollout})
			}
			if n := len(fe.Rules) - maxRules; n > 0 {
				fmt.Fprintf(&b, "\n…and %d more", n)
			}
			blocks = append(blocks, sectionBlock(b.String()))
		}
	} else if r.Env != "" {
		blocks = append(blocks, contextBlock("LaunchDarkly returned no configuration for "+code(r.Env)+"."))
	}
	if next := nextSteps(r); next != nil {
		blocks = append(blocks, next)
	}

	if len(f.Environments) > 0 {
		keys := sortedKeys(f.Environments)
		b.Reset()
		b.WriteString("*All environments*")
		for _, k := range keys {
			e := f.Environments[k]
			b.WriteByte('\n')
			b.WriteString(onEmoji(e, true))
			b.WriteByte(' ')
			writeCode(&b, k)
			b.WriteString(nameSuffix(e.EnvironmentName, k))
			if e.On {
				b.WriteString(" · on")
			} else {
				b.WriteString(" · off")
			}
		}
		if runeLen(b.String()) <= MaxSectionText {
			blocks = append(blocks, sectionBlock(b.String()))
		} else {
			sections, _ := packChunks(strings.Split(b.String(), "\n"), "\n", 10)
			blocks = append(blocks, sections...)
		}
	}

	b.Reset()
	if m := f.Maintainer; m != nil {
		if who := memberName(m); who != "" {
			b.WriteString("Maintainer: ")
			b.WriteString(who)
		}
	}
	if len(f.Tags) > 0 {
		if b.Len() > 0 {
			b.WriteString(" · ")
		}
		b.WriteString("Tags:")
		writeTags(&b, f.Tags)
	}
	if !f.CreationDate.IsZero() {
		if b.Len() > 0 {
			b.WriteString(" · ")
		}
		b.WriteString("Created ")
		b.WriteString(slackDate(f.CreationDate))
	}
	if b.Len() > 0 {
		blocks = append(blocks, contextBlock(b.String()))
	}
	return Message{Text: text + ".", Blocks: blocks}
}

// nextSteps are the buttons under a flag for the likely next step: turn it
// off (or on) in the environment in focus, or request any change; each
// opens the request form prefilled. nil when no button fits.
func nextSteps(r commands.FlagResult) slack.Block {
	f := r.Flag
	var els []slack.BlockElement
	if fe, ok := f.Environments[r.Env]; ok && r.Env != "" && !f.Archived {
		action, label := commands.RequestOn, "Turn on in "+r.Env
		if fe.On {
			action, label = commands.RequestOff, "Turn off in "+r.Env
		}
		if v := EncodeRequestPrefill(commands.Request{Project: r.Project, Flag: f.Key, Env: r.Env, Action: action}); v != "" {
			b := slack.NewButtonBlockElement(string(ActionRequestToggle), v, plainText(truncPlain(label, MaxButtonText)))
			if fe.On {
				b.Style = slack.StyleDanger
			}
			els = append(els, b)
		}
	}
	if v := EncodeRequestPrefill(commands.Request{Project: r.Project, Flag: f.Key, Env: r.Env}); v != "" {
		els = append(els, slack.NewButtonBlockElement(string(ActionRequestOpen), v, plainText("Request a change…")))
	}
	if len(els) == 0 {
		return nil
	}
	return slack.NewActionBlock("flag_next", els...)
}

// writeVariation names variation i of f: its name, if any, and its value.
func writeVariation(b *strings.Builder, f commands.Flag, i int) {
	if i < 0 || i >= len(f.Variations) {
		b.WriteString("variation ")
		b.WriteString(strconv.Itoa(i))
		return
	}
	v := f.Variations[i]
	if v.Name != "" {
		b.WriteString(oneLine(truncPlain(v.Name, maxNameRunes)))
		b.WriteByte(' ')
	}
	writeCode(b, truncPlain(compactJSON(v.Value), maxValueRunes))
}

// writeServe describes what a fallthrough or rule serves.
func writeServe(b *strings.Builder, f commands.Flag, vr *commands.VariationOrRollout) {
	switch {
	case vr == nil:
		b.WriteString("_not set_")
	case vr.Variation != nil:
		writeVariation(b, f, *vr.Variation)
	case vr.Rollout != nil:
		b.WriteString("Rollout: ")
		for i, wv := range vr.Rollout.Variations {
			if i > 0 {
				b.WriteString(", ")
			}
			writePercent(b, wv.Weight)
			b.WriteByte(' ')
			writeVariation(b, f, wv.Variation)
		}
		kind, by := vr.Rollout.ContextKind, vr.Rollout.BucketBy
		if kind != "" || by != "" {
			b.WriteString(" (by ")
			if kind != "" {
				b.WriteString(code(kind))
			}
			if by != "" {
				if kind != "" {
					b.WriteByte(' ')
				}
				b.WriteString(code(by))
			}
			b.WriteByte(')')
		}
	default:
		b.WriteString("_not set_")
	}
}

// percent formats a rollout weight (thousandths of a percent) as a
// percentage with up to three decimals: 25000 → 25%, 12345 → 12.345%.
func percent(w int) string {
	var b strings.Builder
	writePercent(&b, w)
	return b.String()
}

func writePercent(b *strings.Builder, w int) {
	if w < 0 {
		b.WriteByte('-')
		w = -w
	}
	b.WriteString(strconv.Itoa(w / 1000))
	if frac := w % 1000; frac != 0 {
		digits := []byte{'0' + byte(frac/100), '0' + byte(frac/10%10), '0' + byte(frac%10)}
		for len(digits) > 0 && digits[len(digits)-1] == '0' {
			digits = digits[:len(digits)-1]
		}
		b.WriteByte('.')
		b.Write(digits)
	}
	b.WriteByte('%')
}
