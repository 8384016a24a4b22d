package slackapp

import (
	"fmt"
	"strings"

	"github.com/flagbot/flagbot/internal/commands"
)

func renderConfig(r commands.ConfigResult) Message {
	switch r.Setting {
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
		return textMessage("Only members of " + md(commands.Text{commands.Group(r.Policy.ApproverGroup)}) + " can now approve or reject changes.")
	case commands.SettingApprovals:
		return textMessage(fmt.Sprintf("Changes in %s now need %s.", code(r.Env), countNoun(r.Count, "approval", "approvals")))
	case commands.SettingApprovalEnvs:
		if len(r.Envs) == 0 {
			return textMessage("Changes in every environment now need approval.")
		}
		envs := make([]string, len(r.Envs))
		for i, e := range r.Envs {
			envs[i] = code(e)
		}
		return textMessage("Changes now need approval only in " + strings.Join(envs, ", ") + "; changes elsewhere apply at once and are still posted.")
	}
	if r.Value == "" {
		return textMessage("Setting " + code(string(r.Setting)) + " is now cleared.")
	}
	return textMessage("Setting " + code(string(r.Setting)) + " is now " + code(r.Value) + ".")
}
