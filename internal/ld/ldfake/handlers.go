package ldfake

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
)

type tokenKey struct{}

// Collection defaults and maxima, as documented by LaunchDarkly (the maxima
// for flags, projects, environments and segments are undocumented; the fake
// uses 100).
const (
	defaultLimit      = 20
	maxLimit          = 100
	defaultAuditLimit = 10
	maxAuditLimit     = 20
	maxContextLimit   = 50
)

// middleware records the request, answers injected failures, then checks
// the token before handing over to the routes.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		token := r.Header.Get("Authorization")

		s.mu.Lock()
		s.requests = append(s.requests, Request{
			Method:     r.Method,
			Path:       r.URL.Path,
			Query:      r.URL.Query(),
			Token:      token,
			APIVersion: r.Header.Get("LD-API-Version"),
			Body:       body,
		})
		s.trimRequestsLocked()
		var inj *injection
		for i := range s.injected {
			if m := s.injected[i].method; m != "" && m != r.Method {
				continue
			}
			found := s.injected[i]
			inj = &found
			s.injected[i].n--
			if s.injected[i].n <= 0 {
				s.injected = append(s.injected[:i], s.injected[i+1:]...)
			}
			break
		}
		info, known := s.tokens[token]
		delay := s.delay
		s.mu.Unlock()
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}

		now := time.Now()
		w.Header().Set("X-Ratelimit-Route-Remaining", "100")
		w.Header().Set("X-Ratelimit-Global-Remaining", "1000")
		w.Header().Set("X-Ratelimit-Reset", strconv.FormatInt(now.Add(10*time.Second).UnixMilli(), 10))

		if inj != nil {
			if inj.retryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(inj.retryAfter.Seconds()))))
			}
			if inj.code == "" && inj.msg == "" {
				w.WriteHeader(inj.status)
				return
			}
			s.writeError(w, inj.status, inj.code, inj.msg)
			return
		}
		if token == "" || !known {
			s.writeError(w, http.StatusUnauthorized, "unauthorized", "Invalid access token")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, info)))
	})
}

func tokenInfo(r *http.Request) TokenInfo {
	info, _ := r.Context().Value(tokenKey{}).(TokenInfo)
	return info
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode", http.StatusInternalServerError)
		return
	}
	writeJSONBytes(w, status, b)
}

// writeJSONBytes answers with b, encoded JSON.
func writeJSONBytes(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (s *Server) writeError(w http.ResponseWriter, status int, code, msg string) {
	s.mu.Lock()
	id := s.newUUID()
	s.mu.Unlock()
	s.writeJSON(w, status, map[string]string{"code": code, "message": msg, "id": id})
}

func (s *Server) notFound(w http.ResponseWriter) {
	s.writeError(w, http.StatusNotFound, "not_found", "Invalid resource identifier")
}

func (s *Server) badRequest(w http.ResponseWriter, msg string) {
	s.writeError(w, http.StatusBadRequest, "invalid_request", msg)
}

// links is a _links object.
type links map[string]ld.Link

func selfLink(href string) links {
	return links{"self": {Href: href, Type: "application/json"}}
}

// page cuts items by the request's limit and offset and builds the _links
// of the answer: self, and next while items remain. Query parameters other
// than limit and offset are carried over.
func page[T any](w http.ResponseWriter, r *http.Request, s *Server, items []T, defLimit, maxLim int) ([]T, links, bool) {
	q := r.URL.Query()
	limit, offset := defLimit, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLim {
			s.badRequest(w, fmt.Sprintf("limit must be between 1 and %d", maxLim))
			return nil, nil, false
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.badRequest(w, "offset must be a non-negative integer")
			return nil, nil, false
		}
		offset = n
	}
	lo := min(offset, len(items))
	hi := min(offset+limit, len(items))
	href := func(off int) string {
		q2 := url.Values{}
		for k, v := range q {
			q2[k] = v
		}
		q2.Set("limit", strconv.Itoa(limit))
		q2.Set("offset", strconv.Itoa(off))
		return r.URL.EscapedPath() + "?" + q2.Encode()
	}
	l := links{"self": {Href: href(offset), Type: "application/json"}}
	if hi < len(items) {
		l["next"] = ld.Link{Href: href(hi), Type: "application/json"}
	}
	return items[lo:hi], l, true
}

func (s *Server) callerIdentity(w http.ResponseWriter, r *http.Request) {
	info := tokenInfo(r)
	tokenKind := "personal"
	if info.ServiceToken {
		tokenKind = "service"
	}
	s.writeJSON(w, http.StatusOK, map[string]any{
		"accountId":    "acct-5f00000000000000fake",
		"tokenId":      info.ID,
		"tokenName":    info.Name,
		"tokenKind":    tokenKind,
		"authKind":     "token",
		"memberId":     info.MemberID,
		"serviceToken": info.ServiceToken,
	})
}

func (s *Server) getToken(w http.ResponseWriter, r *http.Request) {
	if tokenInfo(r).Forbidden {
		s.writeError(w, http.StatusForbidden, "forbidden", "Forbidden. Access to the requested resource was denied.")
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	var (
		raw   string
		info  TokenInfo
		found bool
	)
	for t, ti := range s.tokens {
		if ti.ID == id {
			raw, info, found = t, ti, true
			break
		}
	}
	s.mu.Unlock()
	if !found {
		s.notFound(w)
		return
	}
	ending := raw
	if len(ending) > 4 {
		ending = ending[len(ending)-4:]
	}
	rep := map[string]any{
		"_id":               info.ID,
		"ownerId":           info.MemberID,
		"memberId":          info.MemberID,
		"name":              info.Name,
		"creationDate":      s.startedAt.UnixMilli(),
		"lastModified":      s.startedAt.UnixMilli(),
		"serviceToken":      info.ServiceToken,
		"token":             ending,
		"defaultApiVersion": 20240415,
		"_links":            selfLink("/api/v2/tokens/" + url.PathEscape(info.ID)),
	}
	if info.Role != "" {
		rep["role"] = info.Role
	} else {
		rep["customRoleIds"] = []string{"5f00000000000000c0de0001"}
	}
	s.writeJSON(w, http.StatusOK, rep)
}

// projectRep is a project on the wire.
func projectRep(p *project) map[string]any {
	tags := p.p.Tags
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{
		"_id":                       p.id,
		"key":                       p.p.Key,
		"name":                      p.p.Name,
		"tags":                      tags,
		"includeInSnippetByDefault": false,
		"_links": links{
			"self":         {Href: "/api/v2/projects/" + url.PathEscape(p.p.Key), Type: "application/json"},
			"environments": {Href: "/api/v2/projects/" + url.PathEscape(p.p.Key) + "/environments", Type: "application/json"},
		},
	}
}

// environmentRep is an environment on the wire, secrets included as
// LaunchDarkly sends them.
func environmentRep(p *project, e *environment) map[string]any {
	return map[string]any{
		"_id":                e.id,
		"key":                e.spec.Key,
		"name":               e.spec.Name,
		"apiKey":             e.spec.APIKey,
		"mobileKey":          e.spec.MobileKey,
		"color":              "F5A623",
		"defaultTtl":         0,
		"secureMode":         false,
		"defaultTrackEvents": false,
		"requireComments":    false,
		"confirmChanges":     false,
		"critical":           e.spec.Critical,
		"tags":               []string{},
		"approvalSettings": map[string]any{
			"required": e.spec.RequireApproval, "minNumApprovals": 1, "canReviewOwnRequest": false,
			"bypassApprovalsForPendingChanges": false, "canApplyDeclinedChanges": true,
			"serviceKind": "launchdarkly", "requiredApprovalTags": []string{}, "serviceConfig": map[string]any{},
		},
		"_links": selfLink("/api/v2/projects/" + url.PathEscape(p.p.Key) + "/environments/" + url.PathEscape(e.spec.Key)),
	}
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	all := make([]map[string]any, 0, len(s.projects))
	for _, p := range s.projects {
		all = append(all, projectRep(p))
	}
	s.mu.Unlock()
	items, l, ok := page(w, r, s, all, defaultLimit, maxLimit)
	if !ok {
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"items": items, "totalCount": len(all), "_links": l})
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p := s.findProject(r.PathValue("proj"))
	var rep map[string]any
	if p != nil {
		rep = projectRep(p)
	}
	s.mu.Unlock()
	if p == nil {
		s.notFound(w)
		return
	}
	s.writeJSON(w, http.StatusOK, rep)
}

func (s *Server) listEnvironments(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p := s.findProject(r.PathValue("proj"))
	var all []map[string]any
	if p != nil {
		for _, e := range p.envs {
			all = append(all, environmentRep(p, e))
		}
	}
	s.mu.Unlock()
	if p == nil {
		s.notFound(w)
		return
	}
	items, l, ok := page(w, r, s, all, defaultLimit, maxLimit)
	if !ok {
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"items": items, "totalCount": len(all), "_links": l})
}

func (s *Server) getEnvironment(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var rep map[string]any
	if p := s.findProject(r.PathValue("proj")); p != nil {
		if e := p.findEnv(r.PathValue("env")); e != nil {
			rep = environmentRep(p, e)
		}
	}
	s.mu.Unlock()
	if rep == nil {
		s.notFound(w)
		return
	}
	s.writeJSON(w, http.StatusOK, rep)
}

// flagFilter is a parsed flag-list filter parameter.
type flagFilter struct {
	query string
	tags  []string
	state string // live (default), deprecated or archived
}

func parseFlagFilter(raw string) (flagFilter, error) {
	f := flagFilter{state: "live"}
	if raw == "" {
		return f, nil
	}
	for part := range strings.SplitSeq(raw, ",") {
		field, value, ok := strings.Cut(part, ":")
		if !ok {
			return f, fmt.Errorf("invalid filter %q: want field:value", part)
		}
		switch field {
		case "query":
			f.query = strings.ToLower(value)
		case "tags":
			f.tags = strings.Split(value, "+")
		case "state":
			if value != "live" && value != "deprecated" && value != "archived" {
				return f, fmt.Errorf("invalid state %q", value)
			}
			f.state = value
		default:
			return f, fmt.Errorf("unsupported filter field %q", field)
		}
	}
	return f, nil
}

func (f flagFilter) match(fl ld.Flag) bool {
	if f.query != "" && !strings.Contains(strings.ToLower(fl.Key), f.query) &&
		!strings.Contains(strings.ToLower(fl.Name), f.query) {
		return false
	}
	for _, t := range f.tags {
		if !slices.Contains(fl.Tags, t) {
			return false
		}
	}
	switch f.state {
	case "archived":
		return fl.Archived
	case "deprecated":
		return fl.Deprecated && !fl.Archived
	default:
		return !fl.Archived
	}
}

// summarize returns a flag environment in the list's summary form.
func summarize(fe ld.FlagEnvironment) ld.FlagEnvironment {
	sum := fe.Summary
	if sum == nil {
		sum = &ld.FlagSummary{Variations: map[string]ld.VariationSummary{}, Prerequisites: len(fe.Prerequisites)}
		get := func(i int) ld.VariationSummary { return sum.Variations[strconv.Itoa(i)] }
		set := func(i int, v ld.VariationSummary) { sum.Variations[strconv.Itoa(i)] = v }
		if fe.OffVariation != nil {
			v := get(*fe.OffVariation)
			v.IsOff = true
			set(*fe.OffVariation, v)
		}
		if ft := fe.Fallthrough; ft != nil {
			if ft.Variation != nil {
				v := get(*ft.Variation)
				v.IsFallthrough = true
				set(*ft.Variation, v)
			}
			if ft.Rollout != nil {
				for _, wv := range ft.Rollout.Variations {
					v := get(wv.Variation)
					v.Rollout++
					set(wv.Variation, v)
				}
			}
		}
		for _, t := range fe.Targets {
			v := get(t.Variation)
			v.Targets += len(t.Values)
			set(t.Variation, v)
		}
		for _, t := range fe.ContextTargets {
			v := get(t.Variation)
			v.ContextTargets += len(t.Values)
			set(t.Variation, v)
		}
		for _, rule := range fe.Rules {
			if rule.Variation != nil {
				v := get(*rule.Variation)
				v.Rules++
				set(*rule.Variation, v)
			}
		}
	}
	return ld.FlagEnvironment{
		On:              fe.On,
		Archived:        fe.Archived,
		Version:         fe.Version,
		LastModified:    fe.LastModified,
		Site:            fe.Site,
		EnvironmentName: fe.EnvironmentName,
		Summary:         sum,
	}
}

// onlyEnvs returns f with the environments named in envs (all when envs is
// empty). Unknown environment keys are ignored.
func onlyEnvs(f ld.Flag, envs []string, summary bool) ld.Flag {
	out := make(map[string]ld.FlagEnvironment)
	for key, fe := range f.Environments {
		if len(envs) > 0 && !slices.Contains(envs, key) {
			continue
		}
		if summary {
			fe = summarize(fe)
		}
		out[key] = fe
	}
	f.Environments = out
	return f
}

func (s *Server) listFlags(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filter, err := parseFlagFilter(q.Get("filter"))
	if err != nil {
		s.badRequest(w, err.Error())
		return
	}
	envs := q["env"]
	summary := q.Get("summary") != "0" && q.Get("summary") != "false"
	projKey := r.PathValue("proj")
	s.mu.Lock()
	p := s.findProject(projKey)
	var matched []map[string]any
	if p != nil {
		for _, f := range p.flags {
			if !filter.match(f) {
				continue
			}
			if len(envs) == 0 {
				f.Environments = nil
			} else {
				f = onlyEnvs(f, envs, summary)
			}
			matched = append(matched, newFlagRep(projKey, f))
		}
	}
	s.mu.Unlock()
	if p == nil {
		s.notFound(w)
		return
	}
	items, l, ok := page(w, r, s, matched, defaultLimit, maxLimit)
	if !ok {
		return
	}
	if items == nil {
		items = []map[string]any{}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"items": items, "totalCount": len(matched), "_links": l})
}

func (s *Server) getFlag(w http.ResponseWriter, r *http.Request) {
	projKey, key := r.PathValue("proj"), r.PathValue("key")
	envs := r.URL.Query()["env"]
	ck := flagCacheKey{project: projKey, flag: key, envs: strings.Join(envs, "\x00")}
	s.mu.Lock()
	if s.flagCacheGen != s.changed {
		// Something changed since the cache was filled: start it afresh.
		clear(s.flagCache)
		s.flagCacheGen = s.changed
	}
	body, cached := s.flagCache[ck]
	var (
		f     ld.Flag
		found bool
	)
	if !cached {
		if p := s.findProject(projKey); p != nil {
			for _, g := range p.flags {
				if g.Key == key {
					f, found = onlyEnvs(g, envs, false), true
					break
				}
			}
		}
	}
	s.mu.Unlock()
	if cached {
		writeJSONBytes(w, http.StatusOK, body)
		return
	}
	if !found {
		s.notFound(w)
		return
	}
	b, err := json.Marshal(newFlagRep(projKey, f))
	if err != nil {
		http.Error(w, "encode", http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	if s.flagCacheGen == s.changed { // nothing changed while it was encoded
		if s.flagCache == nil {
			s.flagCache = make(map[flagCacheKey][]byte)
		}
		s.flagCache[ck] = b
	}
	s.mu.Unlock()
	writeJSONBytes(w, http.StatusOK, b)
}

// flagCacheKey names one GET of a flag: the flag and the environments asked
// for. The encoded answers are kept until the next stored change (the
// channel Changed hands out is replaced then), so a busy load test does not
// spend most of its CPU encoding the same flag again.
type flagCacheKey struct{ project, flag, envs string }

func (s *Server) env(r *http.Request) *environment {
	p := s.findProject(r.PathValue("proj"))
	if p == nil {
		return nil
	}
	return p.findEnv(r.PathValue("env"))
}

func segmentHref(r *http.Request, key string) string {
	return "/api/v2/segments/" + url.PathEscape(r.PathValue("proj")) + "/" + url.PathEscape(r.PathValue("env")) + "/" + url.PathEscape(key)
}

func (s *Server) listSegments(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	e := s.env(r)
	var all []map[string]any
	if e != nil {
		for _, seg := range e.segments {
			seg.Flags = nil // only a single GET lists the flags using a segment
			all = append(all, segmentRep(seg, segmentHref(r, seg.Key)))
		}
	}
	s.mu.Unlock()
	if e == nil {
		s.notFound(w)
		return
	}
	items, l, ok := page(w, r, s, all, defaultLimit, maxLimit)
	if !ok {
		return
	}
	if items == nil {
		items = []map[string]any{}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"items": items, "totalCount": len(all), "_links": l})
}

func (s *Server) getSegment(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	s.mu.Lock()
	var rep map[string]any
	if e := s.env(r); e != nil {
		for _, seg := range e.segments {
			if seg.Key == key {
				rep = segmentRep(seg, segmentHref(r, key))
				break
			}
		}
	}
	s.mu.Unlock()
	if rep == nil {
		s.notFound(w)
		return
	}
	s.writeJSON(w, http.StatusOK, rep)
}

// contextPart is one single-kind context inside a context object.
type contextPart struct {
	kind, key string
	attrs     map[string]any
}

// contextParts returns the single-kind contexts of a context object: one for
// a plain context, one per kind for a multi-context.
func contextParts(raw json.RawMessage) []contextPart {
	var obj map[string]any
	if json.Unmarshal(raw, &obj) != nil {
		return nil
	}
	kind, _ := obj["kind"].(string)
	if kind != "multi" {
		key, _ := obj["key"].(string)
		if kind == "" || key == "" {
			return nil
		}
		return []contextPart{{kind: kind, key: key, attrs: obj}}
	}
	var parts []contextPart
	for k, v := range obj {
		sub, ok := v.(map[string]any)
		if k == "kind" || !ok {
			continue
		}
		key, _ := sub["key"].(string)
		if key != "" {
			parts = append(parts, contextPart{kind: k, key: key, attrs: sub})
		}
	}
	return parts
}

// contextClause is one clause of a context search filter.
type contextClause struct {
	field, op string
	values    []string
}

// parseContextFilter parses the subset of LaunchDarkly's context filter
// syntax the fake supports: clauses joined by "," (AND), each
// `<field> <op> <value>` with field q, key or kind, op equals, anyOf,
// startsWith or contains, and value a JSON string or (for anyOf) a JSON
// array of strings. "|" (OR) and parentheses are not supported.
func parseContextFilter(raw string) ([]contextClause, error) {
	var clauses []contextClause
	rest := strings.TrimSpace(raw)
	for rest != "" {
		field, after, ok := strings.Cut(rest, " ")
		if !ok {
			return nil, fmt.Errorf("invalid filter clause %q", rest)
		}
		op, after, ok := strings.Cut(strings.TrimLeft(after, " "), " ")
		if !ok {
			return nil, fmt.Errorf("invalid filter clause %q", rest)
		}
		switch field {
		case "q", "key", "kind":
		default:
			return nil, fmt.Errorf("unsupported filter field %q", field)
		}
		dec := json.NewDecoder(strings.NewReader(strings.TrimLeft(after, " ")))
		c := contextClause{field: field, op: op}
		switch op {
		case "anyOf":
			if err := dec.Decode(&c.values); err != nil {
				return nil, fmt.Errorf("filter %s anyOf: want a JSON array of strings: %v", field, err)
			}
		case "equals", "startsWith", "contains":
			var v string
			if err := dec.Decode(&v); err != nil {
				return nil, fmt.Errorf("filter %s %s: want a JSON string: %v", field, op, err)
			}
			c.values = []string{v}
		default:
			return nil, fmt.Errorf("unsupported filter operator %q", op)
		}
		clauses = append(clauses, c)
		rest = strings.TrimSpace(strings.TrimLeft(after, " ")[dec.InputOffset():])
		if rest == "" {
			break
		}
		if rest[0] != ',' {
			return nil, fmt.Errorf("unsupported filter syntax at %q", rest)
		}
		rest = strings.TrimSpace(rest[1:])
	}
	return clauses, nil
}

func (c contextClause) matchString(s string) bool {
	for _, v := range c.values {
		switch c.op {
		case "equals", "anyOf":
			if s == v {
				return true
			}
		case "startsWith":
			if strings.HasPrefix(s, v) {
				return true
			}
		case "contains":
			if strings.Contains(s, v) {
				return true
			}
		}
	}
	return false
}

// match reports whether some part of a context satisfies the clause. q is
// fuzzy: a case-insensitive substring of the key or of any string attribute.
func (c contextClause) match(parts []contextPart) bool {
	for _, p := range parts {
		switch c.field {
		case "kind":
			if c.matchString(p.kind) {
				return true
			}
		case "key":
			if c.matchString(p.key) {
				return true
			}
		case "q":
			needle := strings.ToLower(c.values[0])
			for _, v := range p.attrs {
				if s, ok := v.(string); ok && strings.Contains(strings.ToLower(s), needle) {
					return true
				}
			}
		}
	}
	return false
}

// contextRep is a context record on the wire.
type contextRep struct {
	ld.ContextRecord
	Links links `json:"_links"`
}

func (s *Server) contextsAnswer(w http.ResponseWriter, r *http.Request, e *environment, recs []ld.ContextRecord, limit int) {
	// Most recently seen first; lastSeen is RFC 3339 (or LaunchDarkly's
	// space-separated variant), which sorts as a string within one format.
	slices.SortStableFunc(recs, func(a, b ld.ContextRecord) int { return strings.Compare(b.LastSeen, a.LastSeen) })
	total := len(recs)
	recs = recs[:min(limit, len(recs))]
	items := make([]contextRep, 0, len(recs))
	for _, rec := range recs {
		items = append(items, contextRep{ContextRecord: rec, Links: selfLink(r.URL.EscapedPath())})
	}
	s.writeJSON(w, http.StatusOK, map[string]any{
		"items":          items,
		"totalCount":     total,
		"_environmentId": e.id,
		"_links":         selfLink(r.URL.EscapedPath()),
	})
}

func (s *Server) searchContexts(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Filter            string `json:"filter"`
		Sort              string `json:"sort"`
		Limit             int    `json:"limit"`
		ContinuationToken string `json:"continuationToken"`
	}
	if raw, _ := io.ReadAll(r.Body); len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			s.badRequest(w, "Invalid request body")
			return
		}
	}
	if body.Limit == 0 {
		body.Limit = defaultLimit
	}
	if body.Limit < 0 || body.Limit > maxContextLimit {
		s.badRequest(w, fmt.Sprintf("limit must be between 1 and %d", maxContextLimit))
		return
	}
	if body.Sort != "" && body.Sort != "-ts" && body.Sort != "ts" {
		s.badRequest(w, fmt.Sprintf("unsupported sort %q", body.Sort))
		return
	}
	clauses, err := parseContextFilter(body.Filter)
	if err != nil {
		s.badRequest(w, err.Error())
		return
	}
	s.mu.Lock()
	e := s.env(r)
	var recs []ld.ContextRecord
	if e != nil {
		for _, rec := range e.contexts {
			parts := contextParts(rec.Context)
			if !slices.ContainsFunc(clauses, func(c contextClause) bool { return !c.match(parts) }) {
				recs = append(recs, rec)
			}
		}
	}
	s.mu.Unlock()
	if e == nil {
		s.notFound(w)
		return
	}
	s.contextsAnswer(w, r, e, recs, body.Limit)
}

func (s *Server) getContexts(w http.ResponseWriter, r *http.Request) {
	kind, key := r.PathValue("kind"), r.PathValue("key")
	s.mu.Lock()
	e := s.env(r)
	var recs []ld.ContextRecord
	if e != nil {
		for _, rec := range e.contexts {
			if slices.ContainsFunc(contextParts(rec.Context), func(p contextPart) bool { return p.kind == kind && p.key == key }) {
				recs = append(recs, rec)
			}
		}
	}
	s.mu.Unlock()
	if e == nil || len(recs) == 0 {
		s.notFound(w)
		return
	}
	s.contextsAnswer(w, r, e, recs, maxContextLimit)
}

// specMatch reports whether resource matches the resource specifier spec:
// both are ":"-separated "type/key" parts, "*" in spec matches any run of
// characters within one part's key, and ";tags" suffixes are ignored.
func specMatch(spec, resource string) bool {
	sp, rp := strings.Split(spec, ":"), strings.Split(resource, ":")
	if len(sp) != len(rp) {
		return false
	}
	for i := range sp {
		pat, _, _ := strings.Cut(sp[i], ";")
		res, _, _ := strings.Cut(rp[i], ";")
		if ok, err := path.Match(pat, res); err != nil || !ok {
			return false
		}
	}
	return true
}

func (s *Server) listAuditLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var after, before int64
	for name, dst := range map[string]*int64{"after": &after, "before": &before} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				s.badRequest(w, name+" must be epoch milliseconds")
				return
			}
			*dst = n
		}
	}
	spec, text := q.Get("spec"), strings.ToLower(q.Get("q"))
	s.mu.Lock()
	entries := slices.Clone(s.audit)
	s.mu.Unlock()
	// Newest first; of entries in the same millisecond, the last added first.
	slices.Reverse(entries)
	slices.SortStableFunc(entries, func(a, b ld.AuditEntry) int { return cmp.Compare(b.Date, a.Date) })
	var matched []map[string]any
	for _, e := range entries {
		if (after != 0 && e.Date <= after) || (before != 0 && e.Date >= before) {
			continue
		}
		if spec != "" && !slices.ContainsFunc(e.Accesses, func(a ld.Access) bool { return specMatch(spec, a.Resource) }) {
			continue
		}
		if text != "" && !auditTextMatch(e, text) {
			continue
		}
		matched = append(matched, auditRep(e))
	}
	items, l, ok := page(w, r, s, matched, defaultAuditLimit, maxAuditLimit)
	if !ok {
		return
	}
	if items == nil {
		items = []map[string]any{}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"items": items, "_links": l})
}

// auditTextMatch is the fake's take on q: a case-insensitive substring of
// the entry's name, its target's name or one of its resources.
func auditTextMatch(e ld.AuditEntry, text string) bool {
	hay := []string{e.Name}
	if e.Target != nil {
		hay = append(hay, e.Target.Name)
		hay = append(hay, e.Target.Resources...)
	}
	for _, a := range e.Accesses {
		hay = append(hay, a.Resource)
	}
	return slices.ContainsFunc(hay, func(h string) bool { return strings.Contains(strings.ToLower(h), text) })
}
