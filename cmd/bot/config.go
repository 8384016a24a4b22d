package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/secret"
	"github.com/flagbot/flagbot/internal/tokenstore"
)

// Defaults, named so README and code agree.
const (
	defaultSlackAPIURL    = "https://slack.com/api/"
	defaultLDBaseURL      = "https://app.launchdarkly.com"
	defaultHTTPAddr       = ":8080"
	defaultInstallAddr    = ":3000" // Bolt's OAuth receiver listens there too
	defaultCommandTimeout = 10 * time.Second
	minCommandTimeout     = time.Second
	maxCommandTimeout     = 5 * time.Minute
	minApprovalTTL        = time.Second
	maxApprovalTTL        = 30 * 24 * time.Hour
	// A kill's sign-off time and a scheduled change's grace.
	minSignoffTTL    = time.Minute
	maxSignoffTTL    = 30 * 24 * time.Hour
	minScheduleGrace = time.Minute
	maxScheduleGrace = 24 * time.Hour
)

// Config is everything Flagbot reads from its environment, read once at
// start. The struct tags follow envconfig's conventions (envconfig, default,
// desc), and loadConfig and writeUsage read them as envconfig does:
// TestConfigAgreesWithEnvconfig holds them to envconfig itself. The binary
// does not link envconfig, whose usage printer needs text/template: a
// package that makes the linker keep every exported method of every type,
// 9 MB of the executable (issue 12).
type Config struct {
	SlackAppToken      secret.Secret `envconfig:"SLACK_APP_TOKEN" desc:"xapp- app-level token with connections:write (required)"`
	SlackBotToken      secret.Secret `envconfig:"SLACK_BOT_TOKEN" desc:"xoxb- bot token: one workspace (or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)"`
	SlackAPIURL        string        `envconfig:"SLACK_API_URL" default:"https://slack.com/api/" desc:"Slack Web API base URL"`
	LDBaseURL          string        `envconfig:"LD_BASE_URL" default:"https://app.launchdarkly.com" desc:"LaunchDarkly base URL (https://app.launchdarkly.us federal, https://app.eu.launchdarkly.com EU)"`
	RedisURL           secret.Secret `envconfig:"REDIS_URL" desc:"redis:// or rediss:// URL; empty runs an embedded in-memory Redis that keeps nothing across restarts"`
	EncryptionKey      secret.Secret `envconfig:"FLAGBOT_ENCRYPTION_KEY" desc:"base64 of 32 random bytes; required with REDIS_URL"`
	Admins             []string      `envconfig:"FLAGBOT_ADMINS" desc:"comma-separated Slack user IDs allowed to connect, disconnect and configure"`
	HTTPAddr           string        `envconfig:"FLAGBOT_HTTP_ADDR" default:":8080" desc:"address for /healthz, /readyz and /metrics"`
	CommandTimeout     time.Duration `envconfig:"FLAGBOT_COMMAND_TIMEOUT" default:"10s" desc:"deadline for one command's work"`
	ApprovalTTL        time.Duration `envconfig:"FLAGBOT_APPROVAL_TTL" default:"24h" desc:"how long a requested change waits for approval before it expires"`
	SweepInterval      time.Duration `envconfig:"FLAGBOT_SWEEP_INTERVAL" default:"30s" desc:"how often expired requests are marked and their messages updated, scheduled changes applied and reminders sent"`
	SignoffTTL         time.Duration `envconfig:"FLAGBOT_SIGNOFF_TTL" default:"24h" desc:"how long someone has to sign off a /flag kill (a reminder goes out halfway)"`
	ScheduleGrace      time.Duration `envconfig:"FLAGBOT_SCHEDULE_GRACE" default:"1h" desc:"how late a scheduled change is still applied when no replica ran at its time; later it is missed"`
	LogLevel           string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat          string        `envconfig:"LOG_FORMAT" default:"json" desc:"json or text"`
	Pprof              bool          `envconfig:"FLAGBOT_PPROF" default:"false" desc:"serve /debug/pprof on FLAGBOT_HTTP_ADDR (profiling; off by default)"`
	ConnectionCacheTTL time.Duration `envconfig:"FLAGBOT_CONNECTION_CACHE_TTL" default:"1s" desc:"how long a replica may use its in-memory copy of a workspace's decrypted LaunchDarkly connection or Slack installation if an invalidation is lost (0 turns the cache off)"`
	ShutdownTimeout    time.Duration `envconfig:"FLAGBOT_SHUTDOWN_TIMEOUT" default:"20s" desc:"on SIGTERM, how long in-flight commands may take to finish before the bot exits"`

	// Multi-workspace mode: OAuth installs through the install listener.
	SlackClientID     string        `envconfig:"SLACK_CLIENT_ID" desc:"the app's client ID: install Flagbot in many workspaces through OAuth (instead of SLACK_BOT_TOKEN)"`
	SlackClientSecret secret.Secret `envconfig:"SLACK_CLIENT_SECRET" desc:"the app's client secret, with SLACK_CLIENT_ID"`
	PublicURL         string        `envconfig:"FLAGBOT_PUBLIC_URL" desc:"https:// base URL where people reach FLAGBOT_INSTALL_ADDR (with SLACK_CLIENT_ID)"`
	InstallAddr       string        `envconfig:"FLAGBOT_INSTALL_ADDR" default:":3000" desc:"address of the install listener (/slack/install, /slack/oauth_redirect), with SLACK_CLIENT_ID"`

	// OldEncryptionKeys decrypt connections stored before a key rotation;
	// each connection read with one is encrypted again with EncryptionKey.
	OldEncryptionKeys []secret.Secret `envconfig:"FLAGBOT_ENCRYPTION_OLD_KEYS" desc:"comma-separated earlier FLAGBOT_ENCRYPTION_KEY values, accepted for decryption during a key rotation"`
}

// loadConfig reads Config through getenv using the struct tags, then
// validates it. (envconfig.Process reads os.Environ directly, and run must
// take its environment as a parameter so tests can start several bots.)
// The error names every problem found, one per line.
func loadConfig(getenv func(string) string) (Config, error) {
	var c Config
	var problems []string
	v := reflect.ValueOf(&c).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("envconfig")
		raw := strings.TrimSpace(getenv(name))
		if raw == "" {
			raw = f.Tag.Get("default")
		}
		if raw == "" {
			continue
		}
		field := v.Field(i)
		switch {
		case f.Type == reflect.TypeFor[time.Duration]():
			d, err := time.ParseDuration(raw)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s must be a duration such as 10s or 1m, not %q", name, raw))
				// The default (always valid) keeps the range check below
				// from naming the same variable a second time.
				d, _ = time.ParseDuration(f.Tag.Get("default"))
			}
			field.SetInt(int64(d))
		case f.Type.Kind() == reflect.Bool:
			b, err := strconv.ParseBool(raw)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s must be true or false (or 1 or 0), not %q", name, raw))
			}
			field.SetBool(b)
		case f.Type.Kind() == reflect.Slice:
			items := reflect.MakeSlice(f.Type, 0, strings.Count(raw, ",")+1)
			for _, s := range strings.Split(raw, ",") {
				if s = strings.TrimSpace(s); s != "" {
					items = reflect.Append(items, reflect.ValueOf(s).Convert(f.Type.Elem()))
				}
			}
			field.Set(items)
		default:
			field.SetString(raw)
		}
	}
	problems = append(problems, c.problems()...)
	if len(problems) > 0 {
		return c, fmt.Errorf("configuration:\n  - %s", strings.Join(problems, "\n  - "))
	}
	c.SlackAPIURL = withSlash(c.SlackAPIURL)
	c.LDBaseURL = strings.TrimRight(c.LDBaseURL, "/")
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return c, nil
}

// usageHeader is envconfig's DefaultTableFormat header.
const usageHeader = "This application is configured via the environment. The following environment\n" +
	"variables can be used:\n\nKEY\tTYPE\tDEFAULT\tREQUIRED\tDESCRIPTION\n"

// writeUsage writes Config's variables to w as envconfig's
// DefaultTableFormat does (w is a tabwriter).
func writeUsage(w io.Writer) {
	_, _ = io.WriteString(w, usageHeader)
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		f := t.Field(i)
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", f.Tag.Get("envconfig"), typeDescription(f.Type),
			f.Tag.Get("default"), f.Tag.Get("required"), f.Tag.Get("desc"))
	}
}

// typeDescription names t as envconfig's usage does, for the kinds Config
// uses: a named type by its name, else String, True or False, Integer, and
// lists as "Comma-separated list of …".
func typeDescription(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice:
		return "Comma-separated list of " + typeDescription(t.Elem())
	case reflect.String:
		if t.Name() != "" && t.Name() != "string" {
			return t.Name()
		}
		return "String"
	case reflect.Bool:
		if t.Name() != "" && t.Name() != "bool" {
			return t.Name()
		}
		return "True or False"
	case reflect.Int64:
		if t.Name() != "" && !strings.HasPrefix(t.Name(), "int") {
			return t.Name()
		}
		return "Integer"
	}
	return t.String()
}

// MultiWorkspace reports whether c installs Flagbot through OAuth in many
// workspaces (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) rather than running
// with one SLACK_BOT_TOKEN.
func (c Config) MultiWorkspace() bool {
	return c.SlackClientID != "" || !c.SlackClientSecret.Empty()
}

// Validate reports every problem with c as one error.
func (c Config) Validate() error {
	if p := c.problems(); len(p) > 0 {
		return errors.New(strings.Join(p, "; "))
	}
	return nil
}

func (c Config) problems() []string {
	var p []string
	switch {
	case c.SlackAppToken.Empty():
		p = append(p, "SLACK_APP_TOKEN is required: the xapp- app-level token from your Slack app's Basic Information page")
	case !strings.HasPrefix(c.SlackAppToken.Reveal(), "xapp-"):
		p = append(p, "SLACK_APP_TOKEN must start with xapp- (the app-level token, not the bot token)")
	}
	p = append(p, c.modeProblems()...)
	if err := checkHTTPURL(c.SlackAPIURL); err != nil {
		p = append(p, "SLACK_API_URL "+err.Error())
	}
	if err := checkHTTPURL(c.LDBaseURL); err != nil {
		p = append(p, "LD_BASE_URL "+err.Error())
	}
	if !c.RedisURL.Empty() {
		if redisstore.CheckURL(c.RedisURL.Reveal()) != nil {
			p = append(p, "REDIS_URL must look like redis://host:6379/0 or rediss://host:6380/0, "+
				"redis-cluster://host1:6379,host2:6379 (a Redis Cluster) or redis-sentinel://host:26379/mymaster (see the README)")
		}
		if c.EncryptionKey.Empty() {
			p = append(p, "FLAGBOT_ENCRYPTION_KEY is required with REDIS_URL: generate one with `openssl rand -base64 32` and keep it safe")
		}
	}
	if !c.EncryptionKey.Empty() {
		if _, err := parseKey(c.EncryptionKey); err != nil {
			p = append(p, "FLAGBOT_ENCRYPTION_KEY must be base64 of exactly 32 bytes (try `openssl rand -base64 32`)")
		}
	}
	if len(c.OldEncryptionKeys) > 0 && c.EncryptionKey.Empty() {
		p = append(p, "FLAGBOT_ENCRYPTION_OLD_KEYS needs FLAGBOT_ENCRYPTION_KEY: old keys only decrypt, the current key encrypts")
	}
	for i, k := range c.OldEncryptionKeys {
		if _, err := tokenstore.ParseKey(k.Reveal()); err != nil {
			p = append(p, fmt.Sprintf("FLAGBOT_ENCRYPTION_OLD_KEYS: key %d of %d must be base64 of exactly 32 bytes", i+1, len(c.OldEncryptionKeys)))
		}
	}
	for _, id := range c.Admins {
		if !looksLikeUserID(id) {
			p = append(p, fmt.Sprintf("FLAGBOT_ADMINS: %q is not a Slack user ID (they look like U024BE7LH)", id))
		}
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		p = append(p, fmt.Sprintf("FLAGBOT_HTTP_ADDR must be host:port such as :8080, not %q", c.HTTPAddr))
	}
	if c.CommandTimeout < minCommandTimeout || c.CommandTimeout > maxCommandTimeout {
		p = append(p, fmt.Sprintf("FLAGBOT_COMMAND_TIMEOUT must be between %s and %s", minCommandTimeout, maxCommandTimeout))
	}
	if c.ApprovalTTL < minApprovalTTL || c.ApprovalTTL > maxApprovalTTL {
		p = append(p, fmt.Sprintf("FLAGBOT_APPROVAL_TTL must be between %s and 720h (30 days)", minApprovalTTL))
	}
	if c.SweepInterval < 100*time.Millisecond || c.SweepInterval > time.Hour {
		p = append(p, "FLAGBOT_SWEEP_INTERVAL must be between 100ms and 1h")
	}
	if c.SignoffTTL < minSignoffTTL || c.SignoffTTL > maxSignoffTTL {
		p = append(p, fmt.Sprintf("FLAGBOT_SIGNOFF_TTL must be between %s and 720h (30 days)", minSignoffTTL))
	}
	if c.ScheduleGrace < minScheduleGrace || c.ScheduleGrace > maxScheduleGrace {
		p = append(p, fmt.Sprintf("FLAGBOT_SCHEDULE_GRACE must be between %s and %s", minScheduleGrace, maxScheduleGrace))
	}
	if c.ConnectionCacheTTL < 0 || c.ConnectionCacheTTL > time.Minute {
		p = append(p, "FLAGBOT_CONNECTION_CACHE_TTL must be between 0 (off) and 1m")
	}
	if c.ShutdownTimeout < time.Second || c.ShutdownTimeout > 10*time.Minute {
		p = append(p, "FLAGBOT_SHUTDOWN_TIMEOUT must be between 1s and 10m")
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		p = append(p, fmt.Sprintf("LOG_LEVEL must be debug, info, warn or error, not %q", c.LogLevel))
	}
	switch strings.ToLower(c.LogFormat) {
	case "json", "text":
	default:
		p = append(p, fmt.Sprintf("LOG_FORMAT must be json or text, not %q", c.LogFormat))
	}
	return p
}

// modeProblems checks the choice between single-workspace mode
// (SLACK_BOT_TOKEN) and multi-workspace mode (SLACK_CLIENT_ID,
// SLACK_CLIENT_SECRET, FLAGBOT_PUBLIC_URL, FLAGBOT_INSTALL_ADDR).
func (c Config) modeProblems() []string {
	var p []string
	if !c.MultiWorkspace() {
		switch {
		case c.SlackBotToken.Empty():
			p = append(p, "SLACK_BOT_TOKEN is required: the xoxb- bot token from your Slack app's OAuth & Permissions page "+
				"(or, to install Flagbot in many workspaces through OAuth, set SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and FLAGBOT_PUBLIC_URL instead)")
		case !strings.HasPrefix(c.SlackBotToken.Reveal(), "xoxb-"):
			p = append(p, "SLACK_BOT_TOKEN must start with xoxb-")
		}
		if c.PublicURL != "" {
			p = append(p, "FLAGBOT_PUBLIC_URL is set, but it is only used for OAuth installs: set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET too, or unset it")
		}
		return p
	}
	if !c.SlackBotToken.Empty() {
		p = append(p, "SLACK_BOT_TOKEN and SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are both set: choose one mode. "+
			"SLACK_BOT_TOKEN runs Flagbot in one workspace; SLACK_CLIENT_ID and SLACK_CLIENT_SECRET install it through OAuth in many (then unset SLACK_BOT_TOKEN)")
	}
	switch {
	case c.SlackClientID == "":
		p = append(p, "SLACK_CLIENT_ID is required with SLACK_CLIENT_SECRET: the Client ID from your Slack app's Basic Information page")
	case !looksLikeClientID(c.SlackClientID):
		p = append(p, fmt.Sprintf("SLACK_CLIENT_ID must look like 1234567890.1234567890 (Basic Information → App Credentials), not %q", c.SlackClientID))
	}
	if c.SlackClientSecret.Empty() {
		p = append(p, "SLACK_CLIENT_SECRET is required with SLACK_CLIENT_ID: the Client Secret from your Slack app's Basic Information page")
	}
	switch u, err := url.Parse(c.PublicURL); {
	case c.PublicURL == "":
		p = append(p, "FLAGBOT_PUBLIC_URL is required with SLACK_CLIENT_ID: the https:// address where people reach the install listener (FLAGBOT_INSTALL_ADDR), such as https://flagbot.example.com")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		p = append(p, fmt.Sprintf("FLAGBOT_PUBLIC_URL must be an https:// URL such as https://flagbot.example.com, not %q", c.PublicURL))
	case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
		p = append(p, "FLAGBOT_PUBLIC_URL must be https:// (Slack sends the install back only to https addresses; http:// is accepted for localhost only)")
	}
	if _, port, err := net.SplitHostPort(c.InstallAddr); err != nil {
		p = append(p, fmt.Sprintf("FLAGBOT_INSTALL_ADDR must be host:port such as :3000, not %q", c.InstallAddr))
	} else if _, opsPort, err := net.SplitHostPort(c.HTTPAddr); err == nil && port == opsPort && port != "0" {
		p = append(p, "FLAGBOT_INSTALL_ADDR and FLAGBOT_HTTP_ADDR must use different ports: the install listener is public, the ops endpoints are not")
	}
	return p
}

func looksLikeClientID(id string) bool {
	a, b, ok := strings.Cut(id, ".")
	return ok && a != "" && b != "" && strings.Trim(a, "0123456789") == "" && strings.Trim(b, "0123456789") == ""
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an http(s) URL, not %q", raw)
	}
	return nil
}

func looksLikeUserID(id string) bool {
	if len(id) < 3 || (id[0] != 'U' && id[0] != 'W') {
		return false
	}
	for _, r := range id {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func withSlash(s string) string {
	if strings.HasSuffix(s, "/") {
		return s
	}
	return s + "/"
}
