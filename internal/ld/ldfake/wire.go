package ldfake

import (
	"encoding/json"
	"net/url"

	"github.com/flagbot/flagbot/internal/ld"
)

// The ld types omit zero values and fields Flagbot never reads. LaunchDarkly
// sends them, so the fake adds what the OpenAPI description marks required,
// to keep its answers close to the real wire format.

// toWire marshals v to a JSON object and adds each key of defaults it lacks.
func toWire(v any, defaults map[string]any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic("ldfake: marshal " + err.Error()) // ld types always marshal
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic("ldfake: unmarshal " + err.Error())
	}
	fill(m, defaults)
	return m
}

func fill(m, defaults map[string]any) {
	for k, v := range defaults {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
}

func flagLinks(project, key string) links {
	return links{
		"parent": {Href: "/api/v2/flags/" + url.PathEscape(project), Type: "application/json"},
		"self":   {Href: "/api/v2/flags/" + url.PathEscape(project) + "/" + url.PathEscape(key), Type: "application/json"},
	}
}

// newFlagRep is a flag on the wire.
func newFlagRep(project string, f ld.Flag) map[string]any {
	m := toWire(f, map[string]any{
		"archived":         false,
		"deprecated":       false,
		"temporary":        false,
		"tags":             []string{},
		"customProperties": map[string]any{},
		"experiments":      map[string]any{"baselineIdx": 0, "items": []any{}},
		"includeInSnippet": false,
		"_links":           flagLinks(project, f.Key),
	})
	envs, _ := m["environments"].(map[string]any)
	for _, e := range envs {
		em, ok := e.(map[string]any)
		if !ok {
			continue
		}
		fill(em, map[string]any{
			"archived":               false,
			"salt":                   "5a17c0ffee",
			"sel":                    "5e1ec7ed",
			"trackEvents":            false,
			"trackEventsFallthrough": false,
		})
		if rules, ok := em["rules"].([]any); ok {
			for _, r := range rules {
				if rm, ok := r.(map[string]any); ok {
					fill(rm, map[string]any{"clauses": []any{}, "trackEvents": false})
				}
			}
		}
		if sum, ok := em["_summary"].(map[string]any); ok {
			fill(sum, map[string]any{"prerequisites": 0, "variations": map[string]any{}})
			vars, _ := sum["variations"].(map[string]any)
			for _, v := range vars {
				if vm, ok := v.(map[string]any); ok {
					fill(vm, map[string]any{"rules": 0, "nullRules": 0, "targets": 0, "contextTargets": 0})
				}
			}
		}
	}
	return m
}

// segmentRep is a segment on the wire.
func segmentRep(seg ld.Segment, self string) map[string]any {
	return toWire(seg, map[string]any{
		"creationDate":     seg.CreationDate,
		"lastModifiedDate": seg.LastModifiedDate,
		"generation":       0,
		"deleted":          false,
		"rules":            []any{},
		"tags":             []string{},
		"_links":           selfLink(self),
	})
}

// auditRep is an audit-log entry on the wire.
func auditRep(e ld.AuditEntry) map[string]any {
	return toWire(e, map[string]any{
		"_accountId":       "acct-5f00000000000000fake",
		"_links":           selfLink("/api/v2/auditlog/" + url.PathEscape(e.ID)),
		"accesses":         []any{},
		"kind":             "flag",
		"description":      e.Description,
		"shortDescription": e.ShortDescription,
	})
}
