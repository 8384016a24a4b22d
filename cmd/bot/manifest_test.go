package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// The app manifest is checked against Slack's manifest schema (v1) for the
// parts Flagbot uses: manifestSchema below transcribes those parts (every
// object closed with additionalProperties false, so a field outside them
// fails until it is added here from the schema), and checkSchema applies
// the JSON Schema keywords they use. With FLAGBOT_MANIFEST_SCHEMA naming a
// copy of Slack's whole schema (slackapi/manifest-schema,
// manifest.schema.1.0.0.json) the manifest is checked against it too.

const manifestSchema = `{
  "type": "object", "additionalProperties": false, "required": ["display_information"],
  "properties": {
    "_metadata": {"type": "object", "additionalProperties": false, "properties": {
      "major_version": {"type": "integer"}, "minor_version": {"type": "integer"}}},
    "display_information": {"type": "object", "additionalProperties": false, "required": ["name"], "properties": {
      "name": {"type": "string", "minLength": 1, "maxLength": 35},
      "description": {"type": "string", "minLength": 1, "maxLength": 140},
      "background_color": {"type": "string", "minLength": 4, "maxLength": 7, "pattern": "^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$"}}},
    "features": {"type": "object", "additionalProperties": false, "properties": {
      "app_home": {"type": "object", "additionalProperties": false, "properties": {
        "home_tab_enabled": {"type": "boolean"}, "messages_tab_enabled": {"type": "boolean"}, "messages_tab_read_only_enabled": {"type": "boolean"}}},
      "bot_user": {"type": "object", "additionalProperties": false, "required": ["display_name"], "properties": {
        "display_name": {"type": "string", "minLength": 1, "maxLength": 80}, "always_online": {"type": "boolean"}}},
      "slash_commands": {"type": "array", "minItems": 1, "maxItems": 50, "items": {"type": "object", "additionalProperties": false, "required": ["command", "description"], "properties": {
        "command": {"type": "string", "minLength": 2, "maxLength": 32, "pattern": "^\\/"},
        "description": {"type": "string", "minLength": 1, "maxLength": 2000},
        "usage_hint": {"type": "string", "minLength": 1, "maxLength": 1000},
        "should_escape": {"type": "boolean"}}}},
      "unfurl_domains": {"type": "array", "minItems": 1, "maxItems": 5, "uniqueItems": true, "items": {
        "type": "string", "maxLength": 255, "pattern": "^(?![\\.\\-])([-a-z0-9\\.])+([a-z0-9])$"}}}},
    "oauth_config": {"type": "object", "additionalProperties": false, "properties": {
      "scopes": {"type": "object", "additionalProperties": false, "properties": {
        "bot": {"type": "array", "maxItems": 255, "items": {"type": "string", "maxLength": 50}}}}}},
    "settings": {"type": "object", "additionalProperties": false, "properties": {
      "event_subscriptions": {"type": "object", "additionalProperties": false, "properties": {
        "bot_events": {"type": "array", "maxItems": 100, "uniqueItems": true, "items": {"type": "string", "maxLength": 50}}}},
      "interactivity": {"type": "object", "additionalProperties": false, "required": ["is_enabled"], "properties": {
        "is_enabled": {"type": "boolean"}}},
      "org_deploy_enabled": {"type": "boolean"},
      "socket_mode_enabled": {"type": "boolean"},
      "token_rotation_enabled": {"type": "boolean"}}}
  }
}`

func TestManifestValidates(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", "manifest.yml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseYAML(string(raw))
	if err != nil {
		t.Fatalf("manifest.yml: %v", err)
	}
	var schema map[string]any
	if err := json.Unmarshal([]byte(manifestSchema), &schema); err != nil {
		t.Fatal(err)
	}
	for _, p := range checkSchema(schema, schema, m, "manifest") {
		t.Error(p)
	}
	if path := os.Getenv("FLAGBOT_MANIFEST_SCHEMA"); path != "" {
		full, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("FLAGBOT_MANIFEST_SCHEMA: %v", err)
		}
		var s map[string]any
		if err := json.Unmarshal(full, &s); err != nil {
			t.Fatalf("FLAGBOT_MANIFEST_SCHEMA: %v", err)
		}
		for _, p := range checkSchema(s, s, m, "manifest") {
			t.Errorf("against Slack's schema: %s", p)
		}
	}

	// What the code needs is asked for, and every scope says why.
	get := func(path ...string) any {
		var v any = m
		for _, k := range path {
			mm, _ := v.(map[string]any)
			v = mm[k]
		}
		return v
	}
	want := []struct {
		path []string
		item any
	}{
		{[]string{"features", "app_home", "home_tab_enabled"}, true},
		{[]string{"settings", "socket_mode_enabled"}, true},
		{[]string{"settings", "interactivity", "is_enabled"}, true},
	}
	for _, w := range want {
		if got := get(w.path...); got != w.item {
			t.Errorf("%s = %v, want %v", strings.Join(w.path, "."), got, w.item)
		}
	}
	for path, items := range map[string][]string{
		"oauth_config.scopes.bot":                 {"commands", "chat:write", "users:read", "usergroups:read", "channels:read", "groups:read", "links:read", "links:write"},
		"settings.event_subscriptions.bot_events": {"app_home_opened", "link_shared"},
		"features.unfurl_domains":                 {"app.launchdarkly.com"},
	} {
		list, _ := get(strings.Split(path, ".")...).([]any)
		for _, it := range items {
			if !slices.Contains(list, any(it)) {
				t.Errorf("%s lacks %q", path, it)
			}
		}
	}
	inScopes := false
	for _, line := range strings.Split(string(raw), "\n") {
		trim := strings.TrimSpace(line)
		switch {
		case trim == "bot:":
			inScopes = true
		case inScopes && strings.HasPrefix(trim, "- "):
			if !strings.Contains(trim, "#") {
				t.Errorf("scope %q has no comment saying why Flagbot needs it", trim)
			}
		case inScopes:
			inScopes = false
		}
	}
}

// checkSchema returns the problems v has under schema s, for the JSON
// Schema (draft 7) keywords Slack's manifest schema uses: type,
// properties, required, additionalProperties, patternProperties, items,
// min/maxItems, uniqueItems, min/maxLength, pattern, enum, anyOf and local
// $ref. root resolves $ref.
func checkSchema(root, s map[string]any, v any, at string) []string {
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/definitions/")
		defs, _ := root["definitions"].(map[string]any)
		target, ok := defs[name].(map[string]any)
		if !ok {
			return []string{at + ": unknown $ref " + ref}
		}
		return checkSchema(root, target, v, at)
	}
	var out []string
	fail := func(format string, args ...any) { out = append(out, at+": "+fmt.Sprintf(format, args...)) }
	if alts, ok := s["anyOf"].([]any); ok {
		matched := false
		for _, alt := range alts {
			if a, ok := alt.(map[string]any); ok && len(checkSchema(root, a, v, at)) == 0 {
				matched = true
				break
			}
		}
		if !matched {
			fail("matches none of anyOf")
		}
	}
	if typ, ok := s["type"].(string); ok && !hasType(v, typ) {
		fail("is %T, want %s", v, typ)
		return out
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		fail("%v is not one of %v", v, enum)
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		pats, _ := s["patternProperties"].(map[string]any)
		for _, r := range asList(s["required"]) {
			if _, ok := v[r.(string)]; !ok {
				fail("lacks %q", r)
			}
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			sub, known := props[k].(map[string]any)
			if known {
				out = append(out, checkSchema(root, sub, v[k], at+"."+k)...)
			}
			for p, ps := range pats {
				if regexp.MustCompile(p).MatchString(k) {
					known = true
					out = append(out, checkSchema(root, ps.(map[string]any), v[k], at+"."+k)...)
				}
			}
			if !known {
				switch ap := s["additionalProperties"].(type) {
				case bool:
					if !ap {
						fail("has %q, which the schema does not allow", k)
					}
				case map[string]any:
					out = append(out, checkSchema(root, ap, v[k], at+"."+k)...)
				}
			}
		}
	case []any:
		if n, ok := s["minItems"].(float64); ok && len(v) < int(n) {
			fail("has %d items, want at least %v", len(v), n)
		}
		if n, ok := s["maxItems"].(float64); ok && len(v) > int(n) {
			fail("has %d items, want at most %v", len(v), n)
		}
		if u, _ := s["uniqueItems"].(bool); u {
			for i := range v {
				for j := range i {
					if fmt.Sprint(v[i]) == fmt.Sprint(v[j]) {
						fail("item %d repeats item %d", i, j)
					}
				}
			}
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, it := range v {
				out = append(out, checkSchema(root, items, it, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	case string:
		n := utf8.RuneCountInString(v)
		if min, ok := s["minLength"].(float64); ok && n < int(min) {
			fail("has %d characters, want at least %v", n, min)
		}
		if max, ok := s["maxLength"].(float64); ok && n > int(max) {
			fail("has %d characters, want at most %v", n, max)
		}
		for _, key := range []string{"pattern", "regex"} {
			if p, ok := s[key].(string); ok {
				// Go's regexp has no lookahead; Slack's unfurl-domain pattern
				// opens with one ((?![\.\-])), checked by hand.
				if strings.HasPrefix(p, "^(?![\\.\\-])") {
					if strings.HasPrefix(v, ".") || strings.HasPrefix(v, "-") {
						fail("%q starts with . or -", v)
					}
					p = "^" + strings.TrimPrefix(p, "^(?![\\.\\-])")
				}
				re, err := regexp.Compile(p)
				if err != nil {
					fail("pattern %q: %v", p, err)
				} else if !re.MatchString(v) {
					fail("%q does not match %s", v, p)
				}
			}
		}
	}
	return out
}

func hasType(v any, typ string) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "integer":
		_, ok := v.(int)
		return ok
	case "number":
		_, ok := v.(int)
		return ok
	}
	return true
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// parseYAML reads the YAML the manifest is written in: nested mappings by
// indentation, lists of scalars or of mappings ("- key: value"), scalars
// plain or double-quoted (with \" and \\), booleans and integers, and
// comments. Anything else is an error.
func parseYAML(src string) (map[string]any, error) {
	type line struct {
		indent int
		text   string
		n      int
	}
	var lines []line
	for i, raw := range strings.Split(src, "\n") {
		text := stripComment(raw)
		if strings.TrimSpace(text) == "" {
			continue
		}
		if strings.Contains(text, "\t") {
			return nil, fmt.Errorf("line %d: tab", i+1)
		}
		trimmed := strings.TrimLeft(text, " ")
		lines = append(lines, line{indent: len(text) - len(trimmed), text: strings.TrimRight(trimmed, " "), n: i + 1})
	}
	pos := 0
	var parseBlock func(indent int) (any, error)
	parseBlock = func(indent int) (any, error) {
		if pos >= len(lines) || lines[pos].indent != indent {
			return nil, fmt.Errorf("line %d: expected indentation %d", lines[min(pos, len(lines)-1)].n, indent)
		}
		if strings.HasPrefix(lines[pos].text, "- ") {
			var list []any
			for pos < len(lines) && lines[pos].indent == indent && strings.HasPrefix(lines[pos].text, "- ") {
				item := strings.TrimPrefix(lines[pos].text, "- ")
				if k, _, ok := splitKey(item); ok && k != "" {
					// A mapping item: its first key sits after the dash.
					lines[pos] = line{indent: indent + 2, text: item, n: lines[pos].n}
					v, err := parseBlock(indent + 2)
					if err != nil {
						return nil, err
					}
					list = append(list, v)
					continue
				}
				v, err := scalar(item)
				if err != nil {
					return nil, fmt.Errorf("line %d: %w", lines[pos].n, err)
				}
				list = append(list, v)
				pos++
			}
			return list, nil
		}
		m := map[string]any{}
		for pos < len(lines) && lines[pos].indent == indent && !strings.HasPrefix(lines[pos].text, "- ") {
			l := lines[pos]
			k, rest, ok := splitKey(l.text)
			if !ok {
				return nil, fmt.Errorf("line %d: want key: value", l.n)
			}
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("line %d: %q twice", l.n, k)
			}
			pos++
			if rest != "" {
				v, err := scalar(rest)
				if err != nil {
					return nil, fmt.Errorf("line %d: %w", l.n, err)
				}
				m[k] = v
				continue
			}
			if pos >= len(lines) || lines[pos].indent <= indent {
				return nil, fmt.Errorf("line %d: %q has no value", l.n, k)
			}
			v, err := parseBlock(lines[pos].indent)
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
		return m, nil
	}
	v, err := parseBlock(0)
	if err != nil {
		return nil, err
	}
	if pos != len(lines) {
		return nil, fmt.Errorf("line %d: unexpected indentation", lines[pos].n)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the document is not a mapping")
	}
	return m, nil
}

// stripComment drops a # comment that is not inside double quotes.
func stripComment(s string) string {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && inQuote:
			i++
		case s[i] == '"':
			inQuote = !inQuote
		case s[i] == '#' && !inQuote && (i == 0 || s[i-1] == ' '):
			return s[:i]
		}
	}
	return s
}

// splitKey splits "key: value" (or "key:") outside quotes.
func splitKey(s string) (key, rest string, ok bool) {
	if strings.HasPrefix(s, `"`) {
		return "", "", false
	}
	i := strings.Index(s, ":")
	if i <= 0 || (i+1 < len(s) && s[i+1] != ' ') {
		return "", "", false
	}
	return s[:i], strings.TrimSpace(s[i+1:]), true
}

func scalar(s string) (any, error) {
	switch {
	case strings.HasPrefix(s, `"`):
		if len(s) < 2 || !strings.HasSuffix(s, `"`) {
			return nil, fmt.Errorf("unclosed quote in %s", s)
		}
		return strconv.Unquote(s)
	case s == "true":
		return true, nil
	case s == "false":
		return false, nil
	case strings.ContainsAny(s, `'{}[]&*!|>%@`+"`"):
		return nil, fmt.Errorf("YAML this reader does not know: %s", s)
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n, nil
	}
	return s, nil
}

func TestParseYAML(t *testing.T) {
	t.Parallel()
	got, err := parseYAML("a: 1 # one\nb:\n  c: \"x # not a comment \\\"q\\\"\"\n  d:\n    - e\n    - f: true\n      g: plain words\n")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":1,"b":{"c":"x # not a comment \"q\"","d":["e",{"f":true,"g":"plain words"}]}}`
	if raw, _ := json.Marshal(got); string(raw) != want {
		t.Errorf("parseYAML = %s, want %s", raw, want)
	}
	for _, bad := range []string{"a: [1]", "a:\n b: 1\n  c: 2", "a: 1\na: 2", "- x", "a: \"open"} {
		if _, err := parseYAML(bad); err == nil {
			t.Errorf("parseYAML(%q) accepted it", bad)
		}
	}
}

func TestManifestSchemaCatches(t *testing.T) {
	t.Parallel()
	var schema map[string]any
	if err := json.Unmarshal([]byte(manifestSchema), &schema); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		"features:\n  app_home:\n    home_tab: true\n",
		"display_information:\n  name: " + strings.Repeat("n", 36) + "\n",
		"display_information:\n  name: x\n  background_color: red\n",
		"display_information:\n  name: x\nfeatures:\n  unfurl_domains:\n    - -bad.example\n",
		"display_information:\n  name: x\nfeatures:\n  slash_commands:\n    - command: flag\n      description: d\n",
		"display_information:\n  name: x\nsettings:\n  event_subscriptions:\n    bot_events:\n      - link_shared\n      - link_shared\n",
		"display_information:\n  name: x\nsettings:\n  interactivity:\n    request_url: https://x\n",
	} {
		m, err := parseYAML(bad)
		if err != nil {
			t.Fatalf("parseYAML(%q): %v", bad, err)
		}
		if len(checkSchema(schema, schema, m, "manifest")) == 0 {
			t.Errorf("the checker accepted %q", bad)
		}
	}
}
