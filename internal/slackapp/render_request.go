package slackapp

import (
	"fmt"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
)

// How much the request form shows.
const (
	maxFormEnvStates = 10 // environments in the chosen flag's on/off line
	maxRolloutInputs = 20 // percentage inputs (the core takes 20 slices at most)
	reasonMaxLength  = 500
	contextsMaxChars = 3000
)

// requestActionLabels is what the form calls each action.
func requestActionLabel(a commands.RequestAction) string {
	switch a {
	case commands.RequestOn:
		return "Turn on"
	case commands.RequestOff:
		return "Turn off"
	case commands.RequestServe:
		return "Serve a variation by default"
	case commands.RequestRollout:
		return "Percentage rollout by default"
	case commands.RequestOffVariation:
		return "Change what it serves when off"
	case commands.RequestTargetAdd:
		return "Target contexts"
	case commands.RequestTargetRemove:
		return "Stop targeting contexts"
	case commands.RequestCreate:
		return "Create a new flag"
	case commands.RequestArchive:
		return "Archive the flag"
	case commands.RequestRestore:
		return "Restore the archived flag"
	case commands.RequestDelete:
		return "Delete the flag"
	}
	return string(a)
}

// formValues are what the person typed into the form's free-text fields,
// carried over when the form is rebuilt for another flag or action.
type formValues struct {
	Percents      map[string]string // by variation ref
	Contexts      string
	Reason        string
	NewKey        string
	NewName       string
	NewKind       string
	NewVariations string
	NewTags       string
	Temporary     bool
	Variation     string
}

// RequestModalView builds the request form for m, posting in the channel
// and project meta names, with what was typed so far in v.
func RequestModalView(m commands.RequestModal, channelID string) slack.ModalViewRequest {
	return requestModalView(m, requestMeta{Channel: channelID, Project: m.Project}, formValues{})
}

func requestModalView(m commands.RequestModal, meta requestMeta, v formValues) slack.ModalViewRequest {
	blocks := []slack.Block{contextBlock(fmt.Sprintf("Project %s · someone else approves before anything changes in LaunchDarkly.", code(m.Project)))}
	action := m.Action
	if action.NeedsFlag() {
		picker := slack.NewOptionsSelectBlockElement(slack.OptTypeExternal, plainText("Type a key, a name or a tag"), string(ActionReqFlag))
		zero := 0
		picker.MinQueryLength = &zero
		if m.Flag != nil && runeLen(m.Flag.Key) <= MaxOptionValue {
			picker.InitialOption = flagOption(commands.FlagChoice{Key: m.Flag.Key, Name: m.Flag.Name, On: m.Flag.Environments[m.Env].On}, m.Env)
		}
		in := slack.NewInputBlock(string(BlockReqFlag), plainText("Flag"), nil, picker)
		in.DispatchAction = true
		blocks = append(blocks, in)
		if m.Flag != nil {
			blocks = append(blocks, contextBlock(flagStates(*m.Flag)))
		}
	}

	if action.NeedsEnv() && len(m.Envs) > 0 {
		opts := make([]*slack.OptionBlockObject, 0, min(len(m.Envs), MaxOptions))
		var initial *slack.OptionBlockObject
		for _, e := range m.Envs[:min(len(m.Envs), MaxOptions)] {
			label := e.Key
			if e.Name != "" && e.Name != e.Key {
				label = e.Name + " · " + e.Key
			}
			if e.Critical {
				label += " · critical"
			}
			o := option(label, e.Key)
			opts = append(opts, o)
			if e.Key == m.Env {
				initial = o
			}
		}
		env := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plainText("Choose an environment"), string(ActionReqEnv), opts...)
		env.InitialOption = initial
		in := slack.NewInputBlock(string(BlockReqEnv), plainText("Environment"), nil, env)
		in.DispatchAction = true
		blocks = append(blocks, in)
	}

	actions := make([]*slack.OptionBlockObject, 0, len(commands.RequestActions()))
	for _, a := range commands.RequestActions() {
		actions = append(actions, option(requestActionLabel(a), string(a)))
	}
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plainText("Choose what to do"), string(ActionReqAction), actions...)
	sel.InitialOption = option(requestActionLabel(action), string(action))
	in := slack.NewInputBlock(string(BlockReqAction), plainText("What to do"), nil, sel)
	in.DispatchAction = true
	blocks = append(blocks, in)

	switch {
	case action == commands.RequestCreate:
		blocks = append(blocks, createInputs(v)...)
	case (action.NeedsVariation() || action == commands.RequestRollout) && m.Flag == nil:
		blocks = append(blocks, contextBlock(":point_up: Choose a flag first: its variations appear here."))
	case action == commands.RequestRollout:
		for i, c := range m.Variations[:min(len(m.Variations), maxRolloutInputs)] {
			in := slack.NewPlainTextInputBlockElement(plainText("0"), string(ActionReqPercent)).WithInitialValue(v.Percents[c.Ref]).WithMaxLength(8)
			var hint *slack.TextBlockObject
			if i == 0 {
				hint = plainText("Percent of contexts served this variation; the percentages add up to 100. Leave a variation empty for 0%.")
			}
			blocks = append(blocks, slack.NewInputBlock(percentBlock(c.Ref), plainText(truncPlain(c.Label, 140)+" (%)"), hint, in).WithOptional(true))
		}
	case action.NeedsVariation():
		opts := make([]*slack.OptionBlockObject, 0, min(len(m.Variations), MaxOptions))
		var initial *slack.OptionBlockObject
		for _, c := range m.Variations[:min(len(m.Variations), MaxOptions)] {
			o := option(c.Label, c.Ref)
			opts = append(opts, o)
			if c.Ref == v.Variation {
				initial = o
			}
		}
		label := "Variation"
		switch action {
		case commands.RequestServe:
			label = "Variation to serve by default"
		case commands.RequestOffVariation:
			label = "Variation to serve when off"
		case commands.RequestTargetAdd:
			label = "Variation these contexts get"
		case commands.RequestTargetRemove:
			label = "Variation they get now"
		}
		sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plainText("Choose a variation"), string(ActionReqVariation), opts...)
		sel.InitialOption = initial
		blocks = append(blocks, slack.NewInputBlock(string(BlockReqVariation), plainText(label), nil, sel))
	}
	if action == commands.RequestTargetAdd || action == commands.RequestTargetRemove {
		in := slack.NewPlainTextInputBlockElement(plainText("user:ana@example.com, org:acme"), string(ActionReqContexts)).WithInitialValue(v.Contexts).WithMaxLength(contextsMaxChars)
		in.Multiline = true
		blocks = append(blocks, slack.NewInputBlock(string(BlockReqContexts), plainText("Contexts"),
			plainText("kind:key, separated by commas; a key alone is a user. At most 100."), in))
	}
	if action == commands.RequestDelete {
		blocks = append(blocks, contextBlock(":warning: Deleting removes the flag from every environment and cannot be undone; the approver types its key to confirm. Archiving can be undone."))
	}

	reason := slack.NewPlainTextInputBlockElement(plainText("Why is this change wanted?"), string(ActionReqReason)).WithInitialValue(v.Reason).WithMaxLength(reasonMaxLength)
	reason.Multiline = true
	hint := "Shown to approvers and in LaunchDarkly's audit log."
	if m.RequireReason {
		hint = "This workspace asks for a reason with every change. " + hint
	}
	blocks = append(blocks, slack.NewInputBlock(string(BlockReqReason), plainText("Reason"), plainText(hint), reason).WithOptional(!m.RequireReason))

	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           plainText("Request a change"),
		Submit:          plainText("Request"),
		Close:           plainText("Cancel"),
		CallbackID:      string(CallbackRequest),
		PrivateMetadata: encodeRequestMeta(meta),
		Blocks:          slack.Blocks{BlockSet: blocks},
	}
}

// createInputs are the fields of a new flag.
func createInputs(v formValues) []slack.Block {
	key := slack.NewPlainTextInputBlockElement(plainText("e.g. new-checkout"), string(ActionReqNewKey)).WithInitialValue(v.NewKey).WithMaxLength(100)
	name := slack.NewPlainTextInputBlockElement(plainText("e.g. New checkout"), string(ActionReqNewName)).WithInitialValue(v.NewName).WithMaxLength(120)
	kinds := []*slack.OptionBlockObject{option("Boolean (true / false)", commands.FlagKindBoolean), option("String", commands.FlagKindString),
		option("Number", commands.FlagKindNumber), option("JSON", commands.FlagKindJSON)}
	kind := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plainText("Boolean"), string(ActionReqNewKind), kinds...)
	for _, k := range kinds {
		if k.Value == v.NewKind {
			kind.InitialOption = k
		}
	}
	variations := slack.NewPlainTextInputBlockElement(plainText("e.g. control,two-column"), string(ActionReqNewVariations)).WithInitialValue(v.NewVariations).WithMaxLength(1000)
	tags := slack.NewPlainTextInputBlockElement(plainText("e.g. checkout,web"), string(ActionReqNewTags)).WithInitialValue(v.NewTags).WithMaxLength(300)
	temp := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plainText("No"), string(ActionReqTemporary), option("No, it stays", "no"), option("Yes, remove it after the launch", "yes"))
	if v.Temporary {
		temp.InitialOption = option("Yes, remove it after the launch", "yes")
	}
	return []slack.Block{
		slack.NewInputBlock(string(BlockReqNewKey), plainText("New flag key"), plainText("Letters, digits, ., _ and -."), key),
		slack.NewInputBlock(string(BlockReqNewName), plainText("Name"), plainText("Defaults to the key."), name).WithOptional(true),
		slack.NewInputBlock(string(BlockReqNewKind), plainText("Kind"), nil, kind).WithOptional(true),
		slack.NewInputBlock(string(BlockReqNewVariations), plainText("Variations"), plainText("Values separated by commas; needed for every kind but boolean."), variations).WithOptional(true),
		slack.NewInputBlock(string(BlockReqNewTags), plainText("Tags"), plainText("Separated by commas."), tags).WithOptional(true),
		slack.NewInputBlock(string(BlockReqTemporary), plainText("Temporary?"), nil, temp).WithOptional(true),
	}
}

// flagStates says where the chosen flag is on and off.
func flagStates(f commands.Flag) string {
	keys := sortedKeys(f.Environments)
	parts := make([]string, 0, min(len(keys), maxFormEnvStates)+1)
	for _, k := range keys[:min(len(keys), maxFormEnvStates)] {
		state := "off"
		if f.Environments[k].On {
			state = "on"
		}
		parts = append(parts, code(k)+" "+state)
	}
	if n := len(keys) - maxFormEnvStates; n > 0 {
		parts = append(parts, fmt.Sprintf("%d more", n))
	}
	s := "*" + oneLine(nameOr(f.Name, f.Key)) + "*"
	if f.Archived {
		s += " (archived)"
	}
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, " · ")
	}
	return s
}

// option is a select option; text is cut to Slack's 75 characters.
func option(text, value string) *slack.OptionBlockObject {
	return slack.NewOptionBlockObject(value, plainText(truncPlain(oneLinePlain(text), MaxOptionText)), nil)
}

// oneLinePlain joins text's lines and runs of space.
func oneLinePlain(s string) string { return strings.Join(strings.Fields(s), " ") }

// flagOption is a flag as the picker offers it: "key · Name · on", cut to
// fit with the state kept.
func flagOption(f commands.FlagChoice, env string) *slack.OptionBlockObject {
	suffix := ""
	if env != "" {
		suffix = " · off"
		if f.On {
			suffix = " · on"
		}
	}
	text := f.Key
	if n := oneLinePlain(f.Name); n != "" && n != f.Key {
		text += " · " + n
	}
	text = truncPlain(text, MaxOptionText-runeLen(suffix)) + suffix
	return slack.NewOptionBlockObject(f.Key, plainText(text), nil)
}

// FlagOptions turns suggestions into the options of a block_suggestion
// answer: at most MaxOptions, flags whose key would not fit an option's
// value left out.
func FlagOptions(s commands.FlagSuggestions) []*slack.OptionBlockObject {
	out := make([]*slack.OptionBlockObject, 0, min(len(s.Flags), MaxOptions))
	for _, f := range s.Flags {
		if len(out) == MaxOptions {
			break
		}
		if runeLen(f.Key) > MaxOptionValue {
			continue
		}
		out = append(out, flagOption(f, s.Env))
	}
	return out
}

// requestDoneView is what the form becomes while a slow submission is
// filed (msg says so) and after.
func requestDoneView(msg string) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		Title:      plainText("Request a change"),
		Close:      plainText("Close"),
		CallbackID: string(CallbackRequestDone),
		Blocks:     slack.Blocks{BlockSet: []slack.Block{sectionBlock(msg)}},
	}
}

// requestLoadingView is the form while LaunchDarkly is slow to fill it.
func requestLoadingView() slack.ModalViewRequest {
	v := requestDoneView(":hourglass_flowing_sand: Asking LaunchDarkly for the flags and environments…")
	v.Close = plainText("Cancel")
	return v
}

func renderRequestModal(commands.RequestModal) Message {
	return textMessage("Opening the request form…")
}

// formFromState reads a submitted (or changing) request form.
func formFromState(state *slack.ViewState, meta requestMeta) (commands.RequestForm, formValues) {
	var f commands.RequestForm
	v := formValues{Percents: map[string]string{}}
	f.Project = meta.Project
	if state == nil {
		return f, v
	}
	get := func(b BlockID, a ActionID) slack.BlockAction { return state.Values[string(b)][string(a)] }
	f.Flag = get(BlockReqFlag, ActionReqFlag).SelectedOption.Value
	f.Action = commands.RequestAction(get(BlockReqAction, ActionReqAction).SelectedOption.Value)
	f.Env = get(BlockReqEnv, ActionReqEnv).SelectedOption.Value
	f.Variation = get(BlockReqVariation, ActionReqVariation).SelectedOption.Value
	f.Contexts = get(BlockReqContexts, ActionReqContexts).Value
	f.Reason = get(BlockReqReason, ActionReqReason).Value
	f.NewKey = get(BlockReqNewKey, ActionReqNewKey).Value
	f.NewName = get(BlockReqNewName, ActionReqNewName).Value
	f.NewKind = get(BlockReqNewKind, ActionReqNewKind).SelectedOption.Value
	f.NewVariations = get(BlockReqNewVariations, ActionReqNewVariations).Value
	f.NewTags = get(BlockReqNewTags, ActionReqNewTags).Value
	f.Temporary = get(BlockReqTemporary, ActionReqTemporary).SelectedOption.Value == "yes"
	blockIDs := make([]string, 0, len(state.Values))
	for id := range state.Values {
		blockIDs = append(blockIDs, id)
	}
	slices.Sort(blockIDs)
	for _, id := range blockIDs {
		if ref, ok := percentRef(id); ok {
			pct := state.Values[id][string(ActionReqPercent)].Value
			v.Percents[ref] = pct
			f.Rollout = append(f.Rollout, commands.RolloutShare{Variation: ref, Percent: pct})
		}
	}
	v.Contexts, v.Reason, v.Variation = f.Contexts, f.Reason, f.Variation
	v.NewKey, v.NewName, v.NewKind, v.NewVariations, v.NewTags, v.Temporary = f.NewKey, f.NewName, f.NewKind, f.NewVariations, f.NewTags, f.Temporary
	return f, v
}

// formFields maps the core's form fields to the request form's blocks.
func formFields(blocks []slack.Block) func(field string) string {
	present := map[string]bool{}
	firstPercent := ""
	for _, b := range blocks {
		if in, ok := b.(*slack.InputBlock); ok {
			present[in.BlockID] = true
			if _, ok := percentRef(in.BlockID); ok && firstPercent == "" {
				firstPercent = in.BlockID
			}
		}
	}
	return func(field string) string {
		var id string
		switch field {
		case commands.FieldFlag:
			id = string(BlockReqFlag)
		case commands.FieldEnv:
			id = string(BlockReqEnv)
		case commands.FieldAction:
			id = string(BlockReqAction)
		case commands.FieldVariation:
			id = string(BlockReqVariation)
		case commands.FieldRollout:
			id = firstPercent
		case commands.FieldContexts:
			id = string(BlockReqContexts)
		case commands.FieldReason:
			id = string(BlockReqReason)
		case commands.FieldNewKey:
			id = string(BlockReqNewKey)
		case commands.FieldNewName:
			id = string(BlockReqNewName)
		case commands.FieldVariations:
			id = string(BlockReqNewVariations)
		case commands.FieldTags:
			id = string(BlockReqNewTags)
		}
		if present[id] {
			return id
		}
		// The field's block is not shown (a variation before a flag is
		// chosen): the flag, else the action, carries the message.
		if present[string(BlockReqFlag)] {
			return string(BlockReqFlag)
		}
		return string(BlockReqAction)
	}
}
