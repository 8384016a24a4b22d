package slackapp

import (
	"fmt"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
)

func renderConfig(r commands.ConfigResult) Message {
	switch r.Setting {
	case commands.SettingShow:
		return renderSettings(r)
	case commands.SettingProject, commands.SettingEnv:
		what := "The default project"
		if r.Setting == commands.SettingEnv {
			what = "The default environment"
		}
		if r.Value == "" {
			return textMessage(what + " is now cleared.")
		}
		return textMessage(what + " is now " + code(r.Value) + ".")
	case commands.SettingRequireReason:
		if r.Policy.RequireReason {
			return textMessage("Every change request now needs a reason: `--reason \"…\"`.")
		}
		return textMessage("Change requests no longer need a reason (they can still give one).")
	case commands.SettingApprovers:
		if r.Policy.ApproverGroup == "" {
			return textMessage("Anyone in this workspace except the requester can now approve changes.")
		}
		return textMessage("Only members of " + groupMention(r.Policy.ApproverGroup) + " can now approve or reject changes.")
	case commands.SettingApprovals:
		return textMessage(fmt.Sprintf("Changes in %s now need %s.", code(r.Env), countNoun(r.Count, "approval", "approvals")))
	case commands.SettingExemptEnvs:
		if len(r.Envs) == 0 {
			return textMessage("Every environment of project " + code(r.Project) + " now needs approval.")
		}
		return textMessage("Changes in " + codeList(r.Envs) + " of project " + code(r.Project) +
			" now apply without approval (and are still posted). Every other environment, including any created later, needs approval.")
	case commands.SettingBreakglass:
		if r.Policy.ResponderGroup == "" {
			return textMessage("The kill switch is off: nobody can use `/flag kill`. Changes wait for approval as usual.")
		}
		return textMessage("Members of " + groupMention(r.Policy.ResponderGroup) + " can now use `/flag kill` to turn a flag off at once, with no approval; someone else signs it off afterwards.")
	case commands.SettingGuests:
		if r.Policy.GuestsMayRequest {
			return textMessage("Guests can now request changes. They still can't approve or reject them.")
		}
		return textMessage("Guests can no longer request changes.")
	}
	if r.Value == "" {
		return textMessage("Setting " + code(string(r.Setting)) + " is now cleared.")
	}
	return textMessage("Setting " + code(string(r.Setting)) + " is now " + code(r.Value) + ".")
}

// renderSettings shows every setting of the workspace (`/flag config`).
func renderSettings(r commands.ConfigResult) Message {
	pol, conn := r.Policy, r.Connection
	orNone := func(s string) string {
		if s == "" {
			return "_none_"
		}
		return code(s)
	}
	approvers := "anyone in the workspace but the requester"
	if pol.ApproverGroup != "" {
		approvers = "members of " + groupMention(pol.ApproverGroup)
	}
	reason := "optional"
	if pol.RequireReason {
		reason = "required"
	}
	guests := "may not request changes"
	if pol.GuestsMayRequest {
		guests = "may request changes"
	}
	counts := "1 everywhere"
	if len(pol.Approvals) > 0 {
		parts := make([]string, 0, len(pol.Approvals))
		for _, env := range sortedKeys(pol.Approvals) {
			parts = append(parts, code(env)+" "+fmt.Sprint(pol.Approvals[env]))
		}
		counts = strings.Join(parts, ", ") + "; 1 elsewhere"
	}
	exempt := "none: every environment needs approval"
	if len(pol.ExemptEnvs) > 0 {
		parts := make([]string, 0, len(pol.ExemptEnvs))
		for _, p := range sortedKeys(pol.ExemptEnvs) {
			parts = append(parts, codeList(pol.ExemptEnvs[p])+" in "+code(p))
		}
		exempt = strings.Join(parts, "; ")
	}
	kill := "off (no responders group)"
	if pol.ResponderGroup != "" {
		kill = "members of " + groupMention(pol.ResponderGroup)
	}
	fields := []string{
		"*Default project*\n" + orNone(conn.DefaultProject),
		"*Default environment*\n" + orNone(conn.DefaultEnv),
		"*Who may approve*\n" + approvers,
		"*Approvals needed*\n" + counts,
		"*Exempt from approval*\n" + exempt + " (critical environments never are)",
		"*Reason*\n" + reason,
		"*Guests*\n" + guests,
		"*Kill switch*\n" + kill,
	}
	blocks := []slack.Block{headerBlock("Flagbot settings"), fieldsBlock(fields...)}
	if len(pol.LegacyApprovalEnvs) > 0 {
		blocks = append(blocks, contextBlock(":information_source: This workspace used to require approval only in "+codeList(pol.LegacyApprovalEnvs)+
			". Flagbot now asks for approval in every environment; an admin can exempt some with `/flag config exempt-envs &lt;env,…&gt;`."))
	}
	blocks = append(blocks, contextBlock("Admins change these with `/flag config &lt;setting&gt; …`; `/flag help config` lists them."))
	return Message{Text: "Flagbot settings", Blocks: blocks}
}

// groupMention renders a Slack user group ID as a mention.
func groupMention(id string) string { return md(commands.Text{commands.Group(id)}) }

// codeList renders keys as code spans separated by commas.
func codeList(keys []string) string {
	out := make([]string, len(keys))
	for i, k := range slices.Clone(keys) {
		out[i] = code(k)
	}
	return strings.Join(out, ", ")
}
