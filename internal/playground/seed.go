package playground

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldfake"
	"github.com/flagbot/flagbot/internal/slackfake"
)

// The demo's LaunchDarkly access tokens. They are not secrets: they open
// only the in-memory demo LaunchDarkly, and the page lists them so a
// visitor can try /flag connect.
const (
	DemoWriterToken = "api-demo-7e57-writer-0f1a9b2c3d4e"
	DemoReaderToken = "api-demo-7e57-reader-5a6b7c8d9e0f"
)

// Demo identities in the fake Slack.
const (
	DemoChannel    = "C0FLAGS"
	DemoAdmin      = "U0ANA"
	DemoMember     = "U0BO"
	DemoMember2    = "U0CY"
	DemoGuest      = "U0DEE"
	DemoPartner    = "U0EVE"
	DemoPartnerOrg = "T0PARTNER"
	DemoApprovers  = "S0APPROVERS"
)

// Persona is a user the page can act as.
type Persona struct {
	UserID string
	Name   string
	Role   string // what the Acting as list says about them
}

// Token is a demo access token the page lists.
type Token struct {
	Name  string
	Role  string
	Value string
}

// Demo describes the seeded demo: who the page can act as, the channel it
// shows and the tokens it lists.
type Demo struct {
	Channel     string
	ChannelName string
	Personas    []Persona
	Tokens      []Token
	// Project and Env are the defaults the workspace is connected with.
	Project, Env string
}

// SeedSlack adds the demo workspace's people, user group and channel.
func SeedSlack(sl *slackfake.Server) Demo {
	users := []struct {
		u    slackfake.User
		role string
	}{
		{slackfake.User{ID: DemoAdmin, Name: "ana", RealName: "Ana Alves", IsAdmin: true, Title: "Engineering manager", Email: "ana@example.com", TZ: "Europe/Lisbon"}, "workspace admin"},
		{slackfake.User{ID: DemoMember, Name: "bo", RealName: "Bo Martins", Title: "Backend engineer", Email: "bo@example.com", TZ: "Europe/Berlin"}, "member"},
		{slackfake.User{ID: DemoMember2, Name: "cy", RealName: "Cy Okafor", Title: "SRE", Email: "cy@example.com", TZ: "Africa/Lagos"}, "member"},
		{slackfake.User{ID: DemoGuest, Name: "dee", RealName: "Dee Guest", IsRestricted: true, Title: "Contractor", Email: "dee@contractor.example", TZ: "UTC"}, "guest"},
		{slackfake.User{ID: DemoPartner, TeamID: DemoPartnerOrg, Name: "eve", RealName: "Eve Partner", Title: "Partner Co", Email: "eve@partner.example", TZ: "America/New_York"}, "Slack Connect, Partner Co"},
	}
	d := Demo{Channel: DemoChannel, ChannelName: "flags-demo", Project: "web", Env: "production"}
	var members []string
	for _, x := range users {
		sl.SetUser(x.u)
		members = append(members, x.u.ID)
		d.Personas = append(d.Personas, Persona{UserID: x.u.ID, Name: x.u.RealName, Role: x.role})
	}
	sl.SetUserGroupInfo(slackfake.UserGroup{ID: DemoApprovers, Handle: "flag-approvers", Name: "Flag approvers", Members: []string{DemoMember, DemoMember2}})
	sl.SetChannel(slackfake.Channel{ID: DemoChannel, Name: d.ChannelName, ExtShared: true, Members: members})
	d.Tokens = []Token{
		{Name: "flagbot-demo-writer", Role: "Writer", Value: DemoWriterToken},
		{Name: "flagbot-demo-reader", Role: "Reader", Value: DemoReaderToken},
	}
	return d
}

// SeedLaunchDarkly fills the demo LaunchDarkly: two projects with three
// environments each (production is critical), seventeen flags of every kind
// with rules, targets, prerequisites and rollouts, segments, contexts and a
// week of audit history ending at now.
func SeedLaunchDarkly(s *ldfake.Server, now time.Time) error {
	s.AddToken(DemoWriterToken, ldfake.TokenInfo{ID: "tok-demo-writer", Name: "flagbot-demo-writer", Role: "writer", ServiceToken: true, MemberID: "m-flagbot"})
	s.AddToken(DemoReaderToken, ldfake.TokenInfo{ID: "tok-demo-reader", Name: "flagbot-demo-reader", Role: "reader", ServiceToken: true, MemberID: "m-flagbot"})
	envs := func() []ldfake.EnvSpec {
		return []ldfake.EnvSpec{
			{Key: "production", Name: "Production", Critical: true},
			{Key: "staging", Name: "Staging"},
			{Key: "development", Name: "Development"},
		}
	}
	if err := s.AddProject(ld.Project{Key: "web", Name: "Web app", Tags: []string{"frontend"}}, envs()...); err != nil {
		return err
	}
	if err := s.AddProject(ld.Project{Key: "mobile", Name: "Mobile app", Tags: []string{"ios", "android"}}, envs()...); err != nil {
		return err
	}
	for _, f := range webFlags() {
		if err := s.AddFlag("web", f); err != nil {
			return err
		}
	}
	for _, f := range mobileFlags() {
		if err := s.AddFlag("mobile", f); err != nil {
			return err
		}
	}
	for _, seg := range []ld.Segment{
		{Key: "beta-users", Name: "Beta users", Description: "People who opted in to early features", Tags: []string{"beta"}, Included: []string{"ana", "bo", "cy"}, Excluded: []string{"mallory"}},
		{Key: "internal-staff", Name: "Internal staff", Description: "Everyone with an example.com address",
			Rules: []json.RawMessage{json.RawMessage(`{"clauses":[{"attribute":"email","op":"endsWith","values":["@example.com"],"contextKind":"user","negate":false}]}`)}},
		{Key: "enterprise-orgs", Name: "Enterprise organisations", Tags: []string{"sales"},
			IncludedContexts: []ld.SegmentTarget{{ContextKind: "org", Values: []string{"acme", "globex"}}}},
	} {
		for _, env := range []string{"production", "staging"} {
			seg.CreationDate = now.Add(-30 * 24 * time.Hour).UnixMilli()
			seg.Flags = []ld.FlagRef{{Key: "new-checkout", Name: "New checkout"}}
			if err := s.AddSegment("web", env, seg); err != nil {
				return err
			}
		}
	}
	if err := s.AddSegment("mobile", "production", ld.Segment{Key: "testflight", Name: "TestFlight testers", Included: []string{"ana", "dee"}}); err != nil {
		return err
	}
	seen := func(d time.Duration) string { return now.Add(-d).UTC().Format(time.RFC3339) }
	for _, c := range []ld.ContextRecord{
		{Context: json.RawMessage(`{"kind":"user","key":"ana","name":"Ana Alves","email":"ana@example.com","country":"PT"}`), LastSeen: seen(5 * time.Minute)},
		{Context: json.RawMessage(`{"kind":"user","key":"bo","name":"Bo Martins","email":"bo@example.com","country":"DE"}`), LastSeen: seen(time.Hour)},
		{Context: json.RawMessage(`{"kind":"user","key":"cy","name":"Cy Okafor","email":"cy@example.com","country":"NG"}`), LastSeen: seen(3 * time.Hour)},
		{Context: json.RawMessage(`{"kind":"org","key":"acme","name":"Acme Corp","plan":"enterprise"}`), LastSeen: seen(20 * time.Minute)},
		{Context: json.RawMessage(`{"kind":"multi","user":{"key":"dee","name":"Dee Guest","email":"dee@contractor.example"},"org":{"key":"globex","name":"Globex"}}`), LastSeen: seen(26 * time.Hour)},
		{Context: json.RawMessage(`{"kind":"device","key":"iphone-15-ana","os":"iOS 19"}`), LastSeen: seen(2 * 24 * time.Hour)},
	} {
		if err := s.AddContext("web", "production", c); err != nil {
			return err
		}
	}
	for _, e := range auditHistory(now) {
		s.AddAuditEntry(e)
	}
	return nil
}

func vals(values ...string) []ld.Variation {
	out := make([]ld.Variation, len(values))
	for i, v := range values {
		out[i] = ld.Variation{Value: json.RawMessage(v)}
	}
	return out
}

func named(vs []ld.Variation, names ...string) []ld.Variation {
	for i := range names {
		vs[i].Name = names[i]
	}
	return vs
}

func ip(i int) *int { return &i }

func rollout(weights ...int) *ld.VariationOrRollout {
	r := &ld.Rollout{ContextKind: "user", BucketBy: "key"}
	for i, w := range weights {
		r.Variations = append(r.Variations, ld.WeightedVariation{Variation: i, Weight: w})
	}
	return &ld.VariationOrRollout{Rollout: r}
}

func serve(i int) *ld.VariationOrRollout { return &ld.VariationOrRollout{Variation: ip(i)} }

func clause(attr, op string, values ...string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"attribute": attr, "op": op, "values": values, "contextKind": "user", "negate": false})
	return b
}

func segmentClause(segment string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"attribute": "segmentMatch", "op": "segmentMatch", "values": []string{segment}, "negate": false})
	return b
}

func env(on bool, off int, ft *ld.VariationOrRollout) ld.FlagEnvironment {
	return ld.FlagEnvironment{On: on, OffVariation: ip(off), Fallthrough: ft}
}

func member(first, last string) *ld.Member {
	return &ld.Member{FirstName: first, LastName: last, Email: fmt.Sprintf("%s@example.com", lower(first))}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func webFlags() []ld.Flag {
	boolean := func() []ld.Variation { return named(vals("true", "false"), "On", "Off") }
	checkout := ld.Flag{Key: "new-checkout", Name: "New checkout", Kind: "boolean", Temporary: true,
		Description: "The redesigned one-page checkout", Tags: []string{"checkout", "web"}, Maintainer: member("Ana", "Alves"),
		Variations: named(vals("true", "false"), "New flow", "Old flow"),
		Environments: map[string]ld.FlagEnvironment{
			"production": func() ld.FlagEnvironment {
				e := env(true, 1, rollout(25000, 75000))
				e.Targets = []ld.Target{{Values: []string{"ana", "bo"}, Variation: 0}}
				e.Rules = []ld.Rule{{ID: "r-beta", Description: "Beta users get it", Variation: ip(0), Clauses: []json.RawMessage{segmentClause("beta-users")}}}
				return e
			}(),
			"staging":     env(true, 1, serve(0)),
			"development": env(true, 1, serve(0)),
		}}
	search := ld.Flag{Key: "search-v2", Name: "Search v2", Kind: "boolean", Tags: []string{"search"}, Maintainer: member("Bo", "Martins"),
		Description: "New search backend; needs the new checkout for cart previews", Variations: boolean(),
		Environments: map[string]ld.FlagEnvironment{
			"production": func() ld.FlagEnvironment {
				e := env(true, 1, rollout(50000, 50000))
				e.Prerequisites = []ld.Prerequisite{{Key: "new-checkout", Variation: 0}}
				return e
			}(),
			"staging": func() ld.FlagEnvironment {
				e := env(true, 1, serve(0))
				e.Prerequisites = []ld.Prerequisite{{Key: "new-checkout", Variation: 0}}
				return e
			}(),
		}}
	color := ld.Flag{Key: "checkout-button-color", Name: "Checkout button colour", Kind: "multivariate", Tags: []string{"checkout", "experiment"},
		Variations: named(vals(`"blue"`, `"green"`, `"orange"`), "Blue", "Green", "Orange"),
		Environments: map[string]ld.FlagEnvironment{
			"production": func() ld.FlagEnvironment {
				e := env(true, 0, rollout(34000, 33000, 33000))
				e.Rules = []ld.Rule{{ID: "r-de", Description: "Germany sees orange", Variation: ip(2), Clauses: []json.RawMessage{clause("country", "in", "DE", "AT", "CH")}}}
				return e
			}(),
			"staging": env(true, 0, serve(1)),
		}}
	cart := ld.Flag{Key: "max-cart-items", Name: "Maximum cart items", Kind: "multivariate", Tags: []string{"checkout"},
		Variations: named(vals("50", "100", "250"), "Small", "Default", "Large"), Defaults: &ld.Defaults{OnVariation: 1, OffVariation: 1},
		Environments: map[string]ld.FlagEnvironment{
			"production": func() ld.FlagEnvironment {
				e := env(true, 1, serve(1))
				e.ContextTargets = []ld.Target{{ContextKind: "org", Values: []string{"acme"}, Variation: 2}}
				return e
			}(),
		}}
	pricing := ld.Flag{Key: "pricing-config", Name: "Pricing configuration", Kind: "multivariate", Tags: []string{"pricing"},
		Description: "Currency and discount per market",
		Variations:  named(vals(`{"currency":"EUR","discount":0}`, `{"currency":"EUR","discount":10}`, `{"currency":"USD","discount":0}`), "EU standard", "EU sale", "US"),
		Environments: map[string]ld.FlagEnvironment{
			"production": func() ld.FlagEnvironment {
				e := env(true, 0, serve(0))
				e.Rules = []ld.Rule{{ID: "r-us", Description: "United States", Variation: ip(2), Clauses: []json.RawMessage{clause("country", "in", "US")}}}
				return e
			}(),
		}}
	banner := ld.Flag{Key: "banner-text", Name: "Home page banner", Kind: "multivariate", Tags: []string{"marketing"},
		Variations: named(vals(`"Welcome!"`, `"Autumn sale: 10% off everything"`, `""`), "Welcome", "Sale", "None"),
		Environments: map[string]ld.FlagEnvironment{
			"production": env(false, 2, serve(1)),
			"staging":    env(true, 2, serve(1)),
		}}
	recs := ld.Flag{Key: "recommendations-algorithm", Name: "Recommendations algorithm", Kind: "multivariate", Tags: []string{"ml", "experiment"},
		Variations: named(vals(`"collaborative"`, `"content-based"`, `"hybrid"`), "Collaborative", "Content based", "Hybrid"),
		Environments: map[string]ld.FlagEnvironment{
			"production": env(true, 0, rollout(50000, 30000, 20000)),
			"staging":    env(true, 0, serve(2)),
		}}
	return []ld.Flag{
		checkout,
		{Key: "dark-mode", Name: "Dark mode", Kind: "boolean", Tags: []string{"ui"}, Variations: boolean(),
			Environments: map[string]ld.FlagEnvironment{"production": env(false, 1, serve(0)), "staging": env(true, 1, serve(0)), "development": env(true, 1, serve(0))}},
		search, color, cart, pricing, banner, recs,
		{Key: "maintenance-mode", Name: "Maintenance mode", Kind: "boolean", Tags: []string{"ops", "kill-switch"},
			Description: "Shows the maintenance page to everyone", Variations: boolean(), Defaults: &ld.Defaults{OnVariation: 0, OffVariation: 1},
			Environments: map[string]ld.FlagEnvironment{"production": env(false, 1, serve(0))}},
		{Key: "api-rate-limit", Name: "API rate limit per minute", Kind: "multivariate", Tags: []string{"ops"},
			Variations:   named(vals("100", "1000", "10000"), "Strict", "Normal", "Generous"),
			Environments: map[string]ld.FlagEnvironment{"production": env(true, 1, serve(1))}},
		{Key: "beta-dashboard", Name: "Beta dashboard", Kind: "boolean", Tags: []string{"beta", "ui"}, Variations: boolean(),
			Environments: map[string]ld.FlagEnvironment{"production": func() ld.FlagEnvironment {
				e := env(true, 1, serve(1))
				e.ContextTargets = []ld.Target{{ContextKind: "org", Values: []string{"acme", "globex"}, Variation: 0}}
				e.Rules = []ld.Rule{{ID: "r-staff", Description: "Staff", Variation: ip(0), Clauses: []json.RawMessage{segmentClause("internal-staff")}}}
				return e
			}()}},
		{Key: "legacy-payments", Name: "Legacy payments provider", Kind: "boolean", Deprecated: true, Tags: []string{"payments"}, Variations: boolean(),
			Environments: map[string]ld.FlagEnvironment{"production": env(true, 1, serve(1))}},
		{Key: "old-banner", Name: "Old banner", Kind: "boolean", Archived: true, Variations: boolean()},
	}
}

func mobileFlags() []ld.Flag {
	boolean := func() []ld.Variation { return named(vals("true", "false"), "On", "Off") }
	return []ld.Flag{
		{Key: "onboarding-v3", Name: "Onboarding v3", Kind: "boolean", Temporary: true, Tags: []string{"growth"}, Variations: boolean(),
			Environments: map[string]ld.FlagEnvironment{"production": env(true, 1, rollout(10000, 90000)), "staging": env(true, 1, serve(0))}},
		{Key: "force-update-version", Name: "Minimum app version", Kind: "multivariate", Tags: []string{"release"},
			Variations:   named(vals(`"4.2.0"`, `"4.3.0"`), "4.2", "4.3"),
			Environments: map[string]ld.FlagEnvironment{"production": env(true, 0, serve(0))}},
		{Key: "push-notifications", Name: "Push notifications", Kind: "boolean", Variations: boolean(),
			Environments: map[string]ld.FlagEnvironment{"production": func() ld.FlagEnvironment {
				e := env(true, 1, serve(0))
				e.Rules = []ld.Rule{{ID: "r-ios", Description: "iOS only", Variation: ip(0), Clauses: []json.RawMessage{clause("os", "startsWith", "iOS")}}}
				return e
			}()}},
		{Key: "offline-mode", Name: "Offline mode", Kind: "boolean", Tags: []string{"beta"}, Variations: boolean(),
			Environments: map[string]ld.FlagEnvironment{"staging": env(true, 1, serve(0))}},
	}
}

// auditHistory is a week of changes, oldest first, ending an hour before
// now: several people, Flagbot's own token, a change without a comment and
// a flag switched back and forth.
func auditHistory(now time.Time) []ld.AuditEntry {
	type change struct {
		ago            time.Duration
		who            *ld.Member
		viaFlagbot     bool
		project, env   string
		flag, flagName string
		action, verb   string
		comment        string
	}
	ana, bo, cy := member("Ana", "Alves"), member("Bo", "Martins"), member("Cy", "Okafor")
	day := 24 * time.Hour
	changes := []change{
		{7 * day, ana, false, "web", "", "new-checkout", "New checkout", "createFlag", "created the flag", "checkout redesign kick-off"},
		{7*day - 2*time.Hour, ana, false, "web", "development", "new-checkout", "New checkout", "updateOn", "turned on the flag", "dev testing"},
		{6 * day, bo, false, "web", "staging", "new-checkout", "New checkout", "updateOn", "turned on the flag", "QA round 1"},
		{6*day - 3*time.Hour, bo, false, "web", "staging", "search-v2", "Search v2", "updatePrerequisites", "added a prerequisite", "needs the new checkout"},
		{5 * day, cy, false, "web", "production", "maintenance-mode", "Maintenance mode", "updateOn", "turned on the flag", "database failover"},
		{5*day - 40*time.Minute, cy, false, "web", "production", "maintenance-mode", "Maintenance mode", "updateOn", "turned off the flag", "failover done"},
		{5*day - 20*time.Minute, cy, false, "web", "production", "maintenance-mode", "Maintenance mode", "updateOn", "turned on the flag", ""},
		{5*day - 10*time.Minute, cy, false, "web", "production", "maintenance-mode", "Maintenance mode", "updateOn", "turned off the flag", "false alarm"},
		{4 * day, ana, true, "web", "production", "new-checkout", "New checkout", "updateFallthrough", "changed the default rule", "roll out to 25%"},
		{4*day - time.Hour, bo, false, "web", "production", "checkout-button-color", "Checkout button colour", "updateRules", "added a targeting rule", "DACH market test"},
		{3 * day, ana, false, "mobile", "production", "onboarding-v3", "Onboarding v3", "updateFallthrough", "changed the default rule", "10% of new installs"},
		{3*day - 5*time.Hour, bo, false, "web", "production", "beta-dashboard", "Beta dashboard", "updateTargets", "added targets", "Acme and Globex asked for it"},
		{2 * day, cy, true, "web", "production", "api-rate-limit", "API rate limit per minute", "updateFallthrough", "changed the default rule", "back to normal after the incident"},
		{2*day - 2*time.Hour, ana, false, "web", "staging", "banner-text", "Home page banner", "updateOn", "turned on the flag", "autumn sale preview"},
		{day + 4*time.Hour, bo, false, "mobile", "production", "force-update-version", "Minimum app version", "updateFallthrough", "changed the default rule", ""},
		{day, ana, true, "web", "production", "recommendations-algorithm", "Recommendations algorithm", "updateFallthrough", "changed the rollout", "more traffic to hybrid"},
		{20 * time.Hour, cy, false, "web", "production", "legacy-payments", "Legacy payments provider", "updateDeprecated", "deprecated the flag", "migrated to the new provider"},
		{6 * time.Hour, bo, false, "web", "production", "pricing-config", "Pricing configuration", "updateRules", "added a targeting rule", "US pricing"},
		{2 * time.Hour, ana, true, "web", "staging", "dark-mode", "Dark mode", "updateOn", "turned on the flag", "design review"},
		{time.Hour, bo, false, "web", "production", "search-v2", "Search v2", "updateFallthrough", "changed the rollout", "50/50 for the search experiment"},
	}
	out := make([]ld.AuditEntry, 0, len(changes))
	for i, c := range changes {
		envPart, where := "*", ""
		if c.env != "" {
			envPart, where = c.env, " in `"+c.env+"`"
		}
		resource := "proj/" + c.project + ":env/" + envPart + ":flag/" + c.flag
		who := c.who.FirstName + " " + c.who.LastName
		e := ld.AuditEntry{
			ID:        fmt.Sprintf("demo-audit-%02d", i+1),
			Date:      now.Add(-c.ago).UnixMilli(),
			Kind:      "flag",
			Name:      c.flagName,
			TitleVerb: c.verb,
			Title:     fmt.Sprintf("%s %s [%s](/%s/%s/features/%s)%s", who, c.verb, c.flagName, c.project, c.env, c.flag, where),
			Comment:   c.comment,
			Accesses:  []ld.Access{{Action: c.action, Resource: resource}},
			Target:    &ld.AuditTarget{Name: c.flagName, Resources: []string{resource}},
		}
		if c.viaFlagbot {
			e.Token = &ld.TokenSummary{ID: "tok-demo-writer", Name: "flagbot-demo-writer", Ending: DemoWriterToken[len(DemoWriterToken)-4:], ServiceToken: true}
			e.Title = fmt.Sprintf("flagbot-demo-writer %s [%s](/%s/%s/features/%s)%s", c.verb, c.flagName, c.project, c.env, c.flag, where)
			e.Comment = "Requested by Bo Martins (U0BO), approved by Cy Okafor (U0CY) via Flagbot; reason: " + c.comment
		} else {
			e.Member = c.who
		}
		e.Description = e.Title
		out = append(out, e)
	}
	return out
}
