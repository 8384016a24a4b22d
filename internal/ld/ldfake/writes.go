package ldfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
)

// Flag writes: POST /api/v2/flags/{p} (create), DELETE
// /api/v2/flags/{p}/{key} and PATCH /api/v2/flags/{p}/{key} with a semantic
// patch. Tokens with the reader role get 403 on every write. Each change
// appends an audit-log entry.

// approvalRequiredMsg is the 405 message LaunchDarkly sends when an
// environment requires approvals for flag changes.
const approvalRequiredMsg = "Flag configuration updates require approval: action '%s' not allowed"

func (s *Server) canWrite(w http.ResponseWriter, r *http.Request) bool {
	if tokenInfo(r).Role == "reader" {
		s.writeError(w, http.StatusForbidden, "forbidden", "Forbidden. Access to the requested resource was denied.")
		return false
	}
	return true
}

// cloneFlag deep-copies f through JSON.
func cloneFlag(f ld.Flag) ld.Flag {
	b, _ := json.Marshal(f)
	var out ld.Flag
	_ = json.Unmarshal(b, &out)
	return out
}

func (s *Server) flagIndex(p *project, key string) int {
	return slices.IndexFunc(p.flags, func(f ld.Flag) bool { return f.Key == key })
}

// auditLocked appends an entry for a change made by the request's token,
// one access per action on resource. Callers hold s.mu.
func (s *Server) auditLocked(r *http.Request, project, key, name, comment, resource string, actions ...string) {
	info := tokenInfo(r)
	raw := r.Header.Get("Authorization")
	ending := raw[max(0, len(raw)-4):]
	e := ld.AuditEntry{
		ID:      s.newID(),
		Date:    time.Now().UnixMilli(),
		Kind:    "flag",
		Name:    name,
		Comment: comment,
		Token:   &ld.TokenSummary{ID: info.ID, Name: info.Name, Ending: ending, ServiceToken: info.ServiceToken},
		Target:  &ld.AuditTarget{Name: name, Resources: []string{resource}},
	}
	var verbs []string
	for _, action := range actions {
		if slices.Contains(verbs, action) {
			continue
		}
		verbs = append(verbs, action)
		e.Accesses = append(e.Accesses, ld.Access{Action: action, Resource: resource})
	}
	e.TitleVerb = strings.Join(verbs, ", ")
	e.Title = fmt.Sprintf("%s %s on [%s](/%s/flags/%s)", info.Name, e.TitleVerb, name, project, key)
	e.Description = e.Title
	e.ShortDescription = e.TitleVerb
	s.audit = append(s.audit, e)
	s.notifyLocked()
}

func flagResource(project, env, key string) string {
	if env == "" {
		return "proj/" + project + ":env/*:flag/" + key
	}
	return "proj/" + project + ":env/" + env + ":flag/" + key
}

func (s *Server) createFlag(w http.ResponseWriter, r *http.Request) {
	if !s.canWrite(w, r) {
		return
	}
	var body ld.NewFlag
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Key == "" || body.Name == "" {
		s.badRequest(w, "Invalid request body")
		return
	}
	projKey := r.PathValue("proj")
	f := ld.Flag{Key: body.Key, Name: body.Name, Description: body.Description, Tags: body.Tags,
		Temporary: body.Temporary, Variations: body.Variations, Defaults: body.Defaults,
		CreationDate: time.Now().UnixMilli()}
	if len(f.Variations) == 0 || isBooleanPair(f.Variations) {
		f.Kind = "boolean"
	} else {
		f.Kind = "multivariate"
	}
	s.mu.Lock()
	p := s.findProject(projKey)
	if p == nil {
		s.mu.Unlock()
		s.notFound(w)
		return
	}
	created, err := s.addFlagLocked(p, f)
	if err != nil {
		s.mu.Unlock()
		s.writeError(w, http.StatusConflict, "conflict", "A feature with that key already exists")
		return
	}
	s.auditLocked(r, projKey, created.Key, created.Name, "", flagResource(projKey, "", created.Key), "createFlag")
	s.mu.Unlock()
	s.writeJSON(w, http.StatusCreated, newFlagRep(projKey, created))
}

func isBooleanPair(vs []ld.Variation) bool {
	if len(vs) != 2 {
		return false
	}
	a, b := string(vs[0].Value), string(vs[1].Value)
	return (a == "true" && b == "false") || (a == "false" && b == "true")
}

func (s *Server) deleteFlag(w http.ResponseWriter, r *http.Request) {
	if !s.canWrite(w, r) {
		return
	}
	projKey, key := r.PathValue("proj"), r.PathValue("key")
	s.mu.Lock()
	status, msg := s.deleteFlagLocked(r, projKey, key)
	s.mu.Unlock()
	switch status {
	case http.StatusNoContent:
		w.WriteHeader(status)
	case http.StatusNotFound:
		s.notFound(w)
	default:
		s.writeError(w, status, "conflict", msg)
	}
}

// deleteFlagLocked deletes a flag unless it is missing (404) or another
// flag's prerequisite (409). Callers hold s.mu.
func (s *Server) deleteFlagLocked(r *http.Request, projKey, key string) (int, string) {
	p := s.findProject(projKey)
	if p == nil || s.flagIndex(p, key) < 0 {
		return http.StatusNotFound, ""
	}
	for _, other := range p.flags {
		for _, fe := range other.Environments {
			if slices.ContainsFunc(fe.Prerequisites, func(pr ld.Prerequisite) bool { return pr.Key == key }) {
				return http.StatusConflict, fmt.Sprintf("Cannot delete flag %q: it is a prerequisite of %q", key, other.Key)
			}
		}
	}
	i := s.flagIndex(p, key)
	name := p.flags[i].Name
	p.flags = slices.Delete(p.flags, i, i+1)
	s.auditLocked(r, projKey, key, name, "", flagResource(projKey, "", key), "deleteFlag")
	return http.StatusNoContent, ""
}

// isSemanticPatch reports whether a Content-Type names LaunchDarkly's
// semantic patch, tolerating spacing and case.
func isSemanticPatch(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return false
	}
	for k, v := range params {
		if strings.EqualFold(k, "domain-model") && strings.EqualFold(v, "launchdarkly.semanticpatch") {
			return true
		}
	}
	return false
}

func (s *Server) patchFlag(w http.ResponseWriter, r *http.Request) {
	if !s.canWrite(w, r) {
		return
	}
	raw, _ := io.ReadAll(r.Body)
	if !isSemanticPatch(r.Header.Get("Content-Type")) {
		// A semantic-patch body sent as plain JSON is a 400, as is any JSON
		// or merge patch (which the fake does not implement).
		s.badRequest(w, "Invalid request body: the fake supports only semantic patch (Content-Type "+ld.SemanticPatchContentType+")")
		return
	}
	var body struct {
		EnvironmentKey string            `json:"environmentKey"`
		Comment        string            `json:"comment"`
		Instructions   []json.RawMessage `json:"instructions"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&body); err != nil || len(body.Instructions) == 0 {
		s.badRequest(w, "Invalid request body: instructions are required")
		return
	}
	var instrs []ld.Instruction
	for _, ri := range body.Instructions {
		var in ld.Instruction
		d := json.NewDecoder(bytes.NewReader(ri))
		d.DisallowUnknownFields()
		if err := d.Decode(&in); err != nil {
			s.badRequest(w, fmt.Sprintf("Invalid instruction %s: %v", ri, err))
			return
		}
		instrs = append(instrs, in)
	}

	projKey, key := r.PathValue("proj"), r.PathValue("key")
	dryRun := r.URL.Query().Get("dryRun") == "true"
	s.mu.Lock()
	p := s.findProject(projKey)
	i := -1
	if p != nil {
		i = s.flagIndex(p, key)
	}
	if i < 0 {
		s.mu.Unlock()
		s.notFound(w)
		return
	}
	var env *environment
	if body.EnvironmentKey != "" {
		if env = p.findEnv(body.EnvironmentKey); env == nil {
			s.mu.Unlock()
			s.badRequest(w, fmt.Sprintf("Unknown environment key %q", body.EnvironmentKey))
			return
		}
	}
	before := p.flags[i]
	after, err := applyInstructions(cloneFlag(before), body.EnvironmentKey, instrs)
	if err != nil {
		s.mu.Unlock()
		s.badRequest(w, err.Error())
		return
	}
	if env != nil && env.spec.RequireApproval {
		s.mu.Unlock()
		s.writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", fmt.Sprintf(approvalRequiredMsg, instrs[0].Kind))
		return
	}
	now := time.Now().UnixMilli()
	envChanged := false
	if body.EnvironmentKey != "" {
		b1, _ := json.Marshal(before.Environments[body.EnvironmentKey])
		b2, _ := json.Marshal(after.Environments[body.EnvironmentKey])
		if envChanged = !bytes.Equal(b1, b2); envChanged {
			fe := after.Environments[body.EnvironmentKey]
			fe.Version++
			fe.LastModified = now
			after.Environments[body.EnvironmentKey] = fe
		}
	}
	b1, _ := json.Marshal(flagWide(before))
	b2, _ := json.Marshal(flagWide(after))
	flagChanged := !bytes.Equal(b1, b2)
	if flagChanged {
		after.Version++
	}
	if !dryRun && (envChanged || flagChanged) {
		p.flags[i] = after
		var actions []string
		for _, in := range instrs {
			actions = append(actions, in.Kind)
		}
		s.auditLocked(r, projKey, key, after.Name, body.Comment, flagResource(projKey, body.EnvironmentKey, key), actions...)
	}
	s.mu.Unlock()
	s.writeJSON(w, http.StatusOK, newFlagRep(projKey, after))
}

// flagWide is f without its environments, for change detection.
func flagWide(f ld.Flag) ld.Flag {
	f.Environments = nil
	return f
}

// applyInstructions applies instrs to f (a private copy) in order and
// returns the result, or the first invalid instruction's error, in which
// case the caller discards f: patches are all or nothing.
func applyInstructions(f ld.Flag, envKey string, instrs []ld.Instruction) (ld.Flag, error) {
	varIndex := func(id string) (int, error) {
		i := slices.IndexFunc(f.Variations, func(v ld.Variation) bool { return v.ID == id })
		if i < 0 {
			return 0, fmt.Errorf("unknown variationId %q", id)
		}
		return i, nil
	}
	for _, in := range instrs {
		envScoped := in.Kind != ld.KindArchiveFlag && in.Kind != ld.KindRestoreFlag &&
			in.Kind != ld.KindAddTags && in.Kind != ld.KindRemoveTags
		var fe ld.FlagEnvironment
		if envScoped {
			if envKey == "" {
				return f, fmt.Errorf("%s: environmentKey is required", in.Kind)
			}
			fe = f.Environments[envKey]
		}
		switch in.Kind {
		case ld.KindTurnFlagOn, ld.KindTurnFlagOff:
			fe.On = in.Kind == ld.KindTurnFlagOn
		case ld.KindUpdateOffVariation:
			i, err := varIndex(in.VariationID)
			if err != nil {
				return f, err
			}
			fe.OffVariation = &i
		case ld.KindUpdateFallthrough:
			switch {
			case in.VariationID != "" && in.RolloutWeights == nil:
				i, err := varIndex(in.VariationID)
				if err != nil {
					return f, err
				}
				fe.Fallthrough = &ld.VariationOrRollout{Variation: &i}
			case in.VariationID == "" && in.RolloutWeights != nil:
				ro := &ld.Rollout{ContextKind: in.RolloutContextKind, BucketBy: in.RolloutBucketBy}
				sum := 0
				for idx, v := range f.Variations {
					wgt, ok := in.RolloutWeights[v.ID]
					if !ok {
						continue
					}
					if wgt < 0 || wgt > 100000 {
						return f, fmt.Errorf("rollout weight %d out of range", wgt)
					}
					sum += wgt
					ro.Variations = append(ro.Variations, ld.WeightedVariation{Variation: idx, Weight: wgt})
				}
				for id := range in.RolloutWeights {
					if _, err := varIndex(id); err != nil {
						return f, err
					}
				}
				if sum != 100000 {
					return f, fmt.Errorf("rollout weights sum to %d, want 100000", sum)
				}
				fe.Fallthrough = &ld.VariationOrRollout{Rollout: ro}
			default:
				return f, errors.New("updateFallthroughVariationOrRollout needs exactly one of variationId and rolloutWeights")
			}
		case ld.KindAddTargets, ld.KindRemoveTargets:
			i, err := varIndex(in.VariationID)
			if err != nil {
				return f, err
			}
			if len(in.Values) == 0 {
				return f, fmt.Errorf("%s: values are required", in.Kind)
			}
			fe, err = changeTargets(fe, in, i)
			if err != nil {
				return f, err
			}
		case ld.KindArchiveFlag, ld.KindRestoreFlag:
			f.Archived = in.Kind == ld.KindArchiveFlag
		case ld.KindAddTags:
			for _, t := range in.Values {
				if !slices.Contains(f.Tags, t) {
					f.Tags = append(f.Tags, t)
				}
			}
		case ld.KindRemoveTags:
			f.Tags = slices.DeleteFunc(f.Tags, func(t string) bool { return slices.Contains(in.Values, t) })
		default:
			return f, fmt.Errorf("unsupported instruction kind %q", in.Kind)
		}
		if envScoped {
			f.Environments[envKey] = fe
		}
	}
	return f, nil
}

// changeTargets adds or removes in.Values as targets of variation idx: user
// keys in targets, other context kinds in contextTargets. Adding a key that
// another variation already serves is an error.
func changeTargets(fe ld.FlagEnvironment, in ld.Instruction, idx int) (ld.FlagEnvironment, error) {
	kind := in.ContextKind
	if kind == "" {
		kind = "user"
	}
	list := &fe.ContextTargets
	if kind == "user" {
		list = &fe.Targets
	}
	ts := slices.Clone(*list)
	kindOf := func(t ld.Target) string {
		if t.ContextKind == "" {
			return "user"
		}
		return t.ContextKind
	}
	pos := slices.IndexFunc(ts, func(t ld.Target) bool { return t.Variation == idx && kindOf(t) == kind })
	if in.Kind == ld.KindRemoveTargets {
		if pos >= 0 {
			ts[pos].Values = slices.DeleteFunc(slices.Clone(ts[pos].Values), func(v string) bool { return slices.Contains(in.Values, v) })
			if len(ts[pos].Values) == 0 {
				ts = slices.Delete(ts, pos, pos+1)
			}
		}
		*list = ts
		return fe, nil
	}
	for _, t := range ts {
		if t.Variation == idx || kindOf(t) != kind {
			continue
		}
		for _, v := range in.Values {
			if slices.Contains(t.Values, v) {
				return fe, fmt.Errorf("%s %q is already a target of variation %d", kind, v, t.Variation)
			}
		}
	}
	if pos < 0 {
		t := ld.Target{Variation: idx}
		if kind != "user" {
			t.ContextKind = kind
		}
		ts = append(ts, t)
		pos = len(ts) - 1
	}
	vals := slices.Clone(ts[pos].Values)
	for _, v := range in.Values {
		if !slices.Contains(vals, v) {
			vals = append(vals, v)
		}
	}
	ts[pos].Values = vals
	*list = ts
	return fe, nil
}
