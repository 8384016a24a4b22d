package slackapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
)

func requestFixture(action commands.RequestAction) commands.RequestModal {
	f := showFixture().Flag
	return commands.RequestModal{
		Project: "web",
		Envs: []commands.Environment{
			{Key: "production", Name: "Production", Critical: true},
			{Key: "staging", Name: "Staging"},
			{Key: "development"},
		},
		Env:    "production",
		Action: action,
		Flag:   &f,
		Variations: []commands.VariationChoice{
			{Ref: "Enabled", Label: "Enabled (true)"},
			{Ref: "Disabled", Label: "Disabled (false)"},
		},
	}
}

// requestViewCases are the request form's golden files: testdata/golden/request_modal_<name>.json.
func requestViewCases() []struct {
	name string
	view slack.ModalViewRequest
} {
	noFlag := requestFixture(commands.RequestServe)
	noFlag.Flag, noFlag.Variations = nil, nil
	reason := requestFixture(commands.RequestOff)
	reason.RequireReason = true
	many := requestFixture(commands.RequestOn)
	many.Envs = nil
	for i := range 130 {
		many.Envs = append(many.Envs, commands.Environment{Key: fmt.Sprintf("env-%03d", i), Name: strings.Repeat("Long environment name ", 5)})
	}
	long := requestFixture(commands.RequestRollout)
	long.Flag.Name = strings.Repeat("A very long flag name ", 10)
	long.Variations = nil
	for i := range 25 {
		long.Variations = append(long.Variations, commands.VariationChoice{Ref: fmt.Sprint(i), Label: strings.Repeat("variation label ", 20)})
	}
	return []struct {
		name string
		view slack.ModalViewRequest
	}{
		{"empty", RequestModalView(commands.RequestModal{Project: "web", Envs: requestFixture("").Envs, Env: "production", Action: commands.RequestOn}, "C0FLAGS")},
		{"off_reason_required", RequestModalView(reason, "C0FLAGS")},
		{"serve", requestModalView(requestFixture(commands.RequestServe), requestMeta{Channel: "C0FLAGS", Project: "web"}, formValues{Variation: "Disabled", Reason: "launch"})},
		{"serve_no_flag", RequestModalView(noFlag, "C0FLAGS")},
		{"rollout", requestModalView(requestFixture(commands.RequestRollout), requestMeta{Channel: "C0FLAGS", Project: "web"}, formValues{Percents: map[string]string{"Enabled": "25"}})},
		{"target_add", RequestModalView(requestFixture(commands.RequestTargetAdd), "C0FLAGS")},
		{"create", RequestModalView(requestFixture(commands.RequestCreate), "C0FLAGS")},
		{"delete", RequestModalView(requestFixture(commands.RequestDelete), "C0FLAGS")},
		{"many_envs", RequestModalView(many, "C0FLAGS")},
		{"many_variations", RequestModalView(long, "C0FLAGS")},
		{"loading", requestLoadingView()},
		{"filing", requestDoneView(":hourglass_flowing_sand: Filing your request: LaunchDarkly is slow to answer. This updates when it is done.")},
	}
}

func TestRequestModalGolden(t *testing.T) {
	t.Parallel()
	for _, tt := range requestViewCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := CheckView(tt.view); err != nil {
				t.Errorf("CheckView: %v", err)
			}
			golden(t, "request_modal_"+tt.name, tt.view)
		})
	}
}

func TestRequestFormRoundTrip(t *testing.T) {
	t.Parallel()
	view := requestModalView(requestFixture(commands.RequestRollout), requestMeta{Channel: "C0FLAGS", Project: "web"}, formValues{})
	// What Slack sends back on submit: the inputs' state.
	state := &slack.ViewState{Values: map[string]map[string]slack.BlockAction{
		string(BlockReqFlag):   {string(ActionReqFlag): {SelectedOption: slack.OptionBlockObject{Value: "new-checkout"}}},
		string(BlockReqAction): {string(ActionReqAction): {SelectedOption: slack.OptionBlockObject{Value: "rollout"}}},
		string(BlockReqEnv):    {string(ActionReqEnv): {SelectedOption: slack.OptionBlockObject{Value: "staging"}}},
		"req_pct:Enabled":      {string(ActionReqPercent): {Value: "25"}},
		"req_pct:Disabled":     {string(ActionReqPercent): {Value: "75"}},
		string(BlockReqReason): {string(ActionReqReason): {Value: "half-way"}},
	}}
	meta, err := decodeRequestMeta(view.PrivateMetadata)
	if err != nil {
		t.Fatal(err)
	}
	form, typed := formFromState(state, meta)
	cmd, err := form.Command()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := commands.Parse(`rollout new-checkout Disabled=75 Enabled=25 staging --project web --reason half-way`)
	if !reflect.DeepEqual(commands.Command(cmd), want) {
		t.Errorf("form gives %#v, want %#v", cmd, want)
	}
	if typed.Percents["Enabled"] != "25" || typed.Reason != "half-way" {
		t.Errorf("carried values %+v", typed)
	}
	fields := formFields(view.Blocks.BlockSet)
	for field, block := range map[string]string{
		commands.FieldRollout: "req_pct:Enabled", commands.FieldEnv: string(BlockReqEnv), commands.FieldReason: string(BlockReqReason),
		commands.FieldVariation: string(BlockReqFlag), commands.FieldContexts: string(BlockReqFlag), "": string(BlockReqFlag),
	} {
		if got := fields(field); got != block {
			t.Errorf("field %q shows on %q, want %q", field, got, block)
		}
	}
}

func TestRequestPrefill(t *testing.T) {
	t.Parallel()
	in := commands.Request{Project: "web", Flag: "new-checkout", Env: "production", Action: commands.RequestOff}
	s := EncodeRequestPrefill(in)
	got, err := DecodeRequestPrefill(s)
	if err != nil || got != in {
		t.Errorf("round trip %q = %+v, %v; want %+v", s, got, err, in)
	}
	if EncodeRequestPrefill(commands.Request{Flag: strings.Repeat("k", 3000)}) != "" {
		t.Error("a value too long for a button was encoded")
	}
	for _, bad := range []string{"", "!!", "e30", "eyJ2IjoyfQ", "eyJ2IjoxLCJhIjoibm9wZSJ9", "eyJ2IjoxLCJ4IjoxfQ"} {
		if _, err := DecodeRequestPrefill(bad); !errors.Is(err, ErrBadPrefill) {
			t.Errorf("DecodeRequestPrefill(%q) error = %v, want ErrBadPrefill", bad, err)
		}
	}
}

func FuzzDecodeRequestPrefill(f *testing.F) {
	f.Add(EncodeRequestPrefill(commands.Request{Project: "web", Flag: "x", Env: "production", Action: commands.RequestOn}))
	f.Add("eyJ2IjoxfQ")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := DecodeRequestPrefill(s)
		if err != nil {
			return
		}
		if r.Action != "" && !r.Action.Valid() {
			t.Errorf("decoded an invalid action %q", r.Action)
		}
		if again, err := DecodeRequestPrefill(EncodeRequestPrefill(r)); err != nil || again != r {
			t.Errorf("re-encoding %+v gives %+v, %v", r, again, err)
		}
	})
}

func TestFlagOptions(t *testing.T) {
	t.Parallel()
	s := commands.FlagSuggestions{Env: "production", Flags: []commands.FlagChoice{
		{Key: "new-checkout", Name: "New checkout", On: true},
		{Key: "dark-mode", Name: "dark-mode"},
		{Key: strings.Repeat("k", 151)},
		{Key: "long", Name: strings.Repeat("Name ", 40)},
	}}
	var texts []string
	for _, o := range FlagOptions(s) {
		texts = append(texts, o.Value+" = "+o.Text.Text)
	}
	want := []string{
		"new-checkout = new-checkout · New checkout · on",
		"dark-mode = dark-mode · off",
		"long = long · Name Name Name Name Name Name Name Name Name Name Name Name N… · off",
	}
	if !reflect.DeepEqual(texts, want) {
		t.Errorf("options:\n got %q\nwant %q", texts, want)
	}
	for _, tx := range texts {
		if n := runeLen(tx[strings.Index(tx, " = ")+3:]); n > MaxOptionText {
			t.Errorf("option text %q has %d characters", tx, n)
		}
	}
	many := commands.FlagSuggestions{}
	for i := range 150 {
		many.Flags = append(many.Flags, commands.FlagChoice{Key: fmt.Sprintf("flag-%03d-%s", i, strings.Repeat("x", 120)), Name: strings.Repeat("n", 80)})
	}
	ack := optionsAck(FlagOptions(many))
	raw, _ := json.Marshal(ack)
	if n := len(ack["options"].([]*slack.OptionBlockObject)); n == 0 || n > MaxOptions || len(raw) > maxOptionsAck {
		t.Errorf("ack has %d options in %d bytes; want 1..%d within %d bytes", n, len(raw), MaxOptions, maxOptionsAck)
	}
	if raw, _ := json.Marshal(optionsAck(nil)); string(raw) != `{"options":[]}` {
		t.Errorf("empty answer = %s", raw)
	}
}
