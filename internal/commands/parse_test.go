package commands

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// parseTest is one row of the parser table. A row either wants a Command,
// or (want == nil) a *UsageError whose Help is the entry named wantUsage
// ("" for the zero HelpEntry) and whose Msg contains wantMsg.
type parseTest struct {
	name      string
	in        string
	want      Command
	wantUsage string
	wantMsg   string
}

func parseTests() []parseTest {
	share := Output{Share: true}
	return []parseTest{
		// help
		{name: "empty text opens the request form", in: "", want: Request{}},
		{name: "only white space", in: "  \t\n  ", want: Request{}},
		{name: "help still lists everything", in: "help", want: Help{}},
		{name: "request", in: "request", want: Request{}},
		{name: "request prefilled", in: "request new-checkout staging --project web", want: Request{Flag: "new-checkout", Env: "staging", Project: "web"}},
		{name: "request env option", in: "request new-checkout --env staging", want: Request{Flag: "new-checkout", Env: "staging"}},
		{name: "request too much", in: "request a b c", wantUsage: "request"},
		{name: "request bad key", in: "request new/checkout", wantUsage: "request"},
		{name: "help", in: "help", want: Help{}},
		{name: "help upper case", in: "HELP", want: Help{}},
		{name: "help topic", in: "help show", want: Help{Topic: "show"}},
		{name: "help topic alias", in: "help ls", want: Help{Topic: "list"}},
		{name: "help topic upper case", in: "help SHOW", want: Help{Topic: "show"}},
		{name: "help unknown topic suggests", in: "help shwo", wantUsage: "help", wantMsg: "I don't know `shwo`. Did you mean `show`? Try `/flag help`."},
		{name: "help two topics", in: "help show list", wantUsage: "help", wantMsg: "at most 1 argument,"},
		{name: "help takes no options", in: "help --share", wantUsage: "help", wantMsg: "`--share`"},
		{name: "--help alone", in: "--help", want: Help{}},
		{name: "-h alone", in: "-h", want: Help{}},
		{name: "-h after subcommand", in: "show -h", want: Help{Topic: "show"}},
		{name: "--help among options", in: "list --tag beta --help", want: Help{Topic: "list"}},
		{name: "-H on alias", in: "ls -H", want: Help{Topic: "list"}},
		{name: "--help wins over bad arguments", in: "status now please --help", want: Help{Topic: "status"}},
		{name: "--help on help", in: "help --help", want: Help{Topic: "help"}},
		{name: "--help after -- is a word", in: "list -- --help", want: List{Words: "--help"}},
		{name: "quoted --help is a word", in: `list "--help"`, want: List{Words: "--help"}},
		{name: "--help on unknown subcommand", in: "shwo --help", wantUsage: "", wantMsg: "Did you mean `show`?"},

		// connect, status, disconnect
		{name: "connect", in: "connect", want: Connect{}},
		{name: "connect mixed case", in: "Connect", want: Connect{}},
		{name: "connect with argument", in: "connect now", wantUsage: "connect", wantMsg: "takes no arguments"},
		{name: "status", in: "status", want: Status{}},
		{name: "status has no --share", in: "status --share", wantUsage: "status", wantMsg: "takes no options"},
		{name: "disconnect", in: "disconnect", want: Disconnect{}},
		{name: "disconnect with argument", in: "disconnect please", wantUsage: "disconnect"},

		// config
		{name: "config project", in: "config project web", want: Config{Setting: SettingProject, Value: "web"}},
		{name: "config env", in: "config env production", want: Config{Setting: SettingEnv, Value: "production"}},
		{name: "config setting case-insensitive, key as typed", in: "CONFIG Environment Prod", want: Config{Setting: SettingEnv, Value: "Prod"}},
		{name: "config alone shows every setting", in: "config", want: Config{}},
		{name: "config without key", in: "config project", wantUsage: "config", wantMsg: "needs a setting and a key"},
		{name: "config unknown setting", in: "config colour blue", wantUsage: "config", wantMsg: "`colour`"},
		{name: "config too many", in: "config project web mobile", wantUsage: "config", wantMsg: "`mobile`"},
		{name: "config invalid key", in: "config project 'my project'", wantUsage: "config", wantMsg: "isn't a valid project key"},
		{name: "config takes no options", in: "config project web --share", wantUsage: "config"},

		// projects
		{name: "projects", in: "projects", want: Projects{}},
		{name: "projects --share", in: "projects --share", want: Projects{Output: share}},
		{name: "projects with argument", in: "projects web", wantUsage: "projects"},
		{name: "projects has no --project", in: "projects --project web", wantUsage: "projects", wantMsg: "It takes `--share`."},

		// envs
		{name: "envs", in: "envs", want: Envs{}},
		{name: "envs project", in: "envs web", want: Envs{Project: "web"}},
		{name: "environments alias shared", in: "environments web --share", want: Envs{Project: "web", Output: share}},
		{name: "envs --project", in: "envs --project web", want: Envs{Project: "web"}},
		{name: "envs project both ways, same", in: "envs web --project=WEB", want: Envs{Project: "web"}},
		{name: "envs project both ways, different", in: "envs web --project mobile", wantUsage: "envs", wantMsg: "two projects, `web` and `mobile`"},
		{name: "envs two projects", in: "envs web mobile", wantUsage: "envs"},
		{name: "envs invalid project key", in: "envs we/b", wantUsage: "envs", wantMsg: "`we/b` isn't a valid project key"},

		// list
		{name: "list", in: "list", want: List{}},
		{name: "ls", in: "ls", want: List{}},
		{name: "list one word", in: "list checkout", want: List{Words: "checkout"}},
		{name: "list several words", in: "list new checkout", want: List{Words: "new checkout"}},
		{name: "list straight quotes", in: `list "new checkout"`, want: List{Words: "new checkout"}},
		{name: "list smart double quotes", in: "list “new checkout”", want: List{Words: "new checkout"}},
		{name: "list smart single quotes", in: "list ‘new checkout’", want: List{Words: "new checkout"}},
		{name: "list low-high quotes", in: "list „new checkout“", want: List{Words: "new checkout"}},
		{name: "list straight single quotes", in: "list 'new checkout'", want: List{Words: "new checkout"}},
		{name: "list backticks", in: "list `new checkout`", want: List{Words: "new checkout"}},
		{name: "list quoted space kept inside quotes", in: `list "new  checkout"`, want: List{Words: "new  checkout"}},
		{name: "list mixed white space", in: "list   new \t\n checkout\u00a0 ", want: List{Words: "new checkout"}},
		{name: "list apostrophe inside a word", in: "list don't", want: List{Words: "don't"}},
		{name: "list curly apostrophe inside a word", in: "list don’t", want: List{Words: "don’t"}},
		{name: "list all options, space form", in: "list checkout --tag beta --env staging --project web --archived --share",
			want: List{Words: "checkout", Tag: "beta", Env: "staging", Project: "web", Archived: true, Output: share}},
		{name: "list all options, = form", in: "list --tag=beta --env=staging --project=web --archived=true --share=yes",
			want: List{Tag: "beta", Env: "staging", Project: "web", Archived: true, Output: share}},
		{name: "list options before words", in: "list --env staging new checkout", want: List{Words: "new checkout", Env: "staging"}},
		{name: "list --archived=false", in: "list --archived=false", want: List{}},
		{name: "list --archived=maybe", in: "list --archived=maybe", wantUsage: "list", wantMsg: "is a switch"},
		{name: "list quoted = value", in: `list --tag="beta"`, want: List{Tag: "beta"}},
		{name: "list smart quoted = value", in: "list --env=“staging”", want: List{Env: "staging"}},
		{name: "list em dash option", in: "list —env production", want: List{Env: "production"}},
		{name: "list en dash option", in: "list –tag beta", want: List{Tag: "beta"}},
		{name: "list single dash option", in: "list -env production", want: List{Env: "production"}},
		{name: "list option names case-insensitive", in: "LIST --ENV production", want: List{Env: "production"}},
		{name: "list --environment", in: "list --environment staging", want: List{Env: "staging"}},
		{name: "list keys kept as typed", in: "list --project Web --env PROD", want: List{Project: "Web", Env: "PROD"}},
		{name: "list --tag without value", in: "list --tag", wantUsage: "list", wantMsg: "`--tag` needs a value"},
		{name: "list --tag followed by option", in: "list --tag --env x", wantUsage: "list", wantMsg: "`--tag` needs a value"},
		{name: "list --tag= empty", in: "list --tag=", wantUsage: "list", wantMsg: "needs a value"},
		{name: "list --env empty quotes", in: `list --env ""`, wantUsage: "list", wantMsg: "needs a value"},
		{name: "list unknown option", in: "list --color red", wantUsage: "list", wantMsg: "`list` has no option `--color`. It takes `--tag`, `--env`, `--project`, `--archived`, `--share`."},
		{name: "list option twice, different", in: "list --env a --env b", wantUsage: "list", wantMsg: "twice"},
		{name: "list option twice, same", in: "list --env a --env=a", want: List{Env: "a"}},
		{name: "list invalid tag", in: "list --tag 'beta users'", wantUsage: "list", wantMsg: "isn't a valid tag"},
		{name: "list unterminated quote", in: `list "new checkout`, wantUsage: "list", wantMsg: "never closed"},
		{name: "list unterminated smart quote", in: "list “new checkout", wantUsage: "list", wantMsg: "never closed"},
		{name: "list -- ends options", in: "list -- -x --tag", want: List{Words: "-x --tag"}},
		{name: "list lone dash is a word", in: "list -", want: List{Words: "-"}},
		{name: "list Slack mailto link", in: "list <mailto:a@b.co|a@b.co>", want: List{Words: "a@b.co"}},
		{name: "list Slack entities", in: "list a &amp; b &lt;c&gt;", want: List{Words: "a & b <c>"}},
		{name: "list lone angle bracket kept", in: "list a < b", want: List{Words: "a < b"}},
		{name: "list zero-width space dropped", in: "list new\u200b-checkout", want: List{Words: "new-checkout"}},
		{name: "list empty quoted word dropped", in: `list "" checkout`, want: List{Words: "checkout"}},

		// show
		{name: "show", in: "show new-checkout", want: Show{Flag: "new-checkout"}},
		{name: "get alias with env", in: "get new-checkout production", want: Show{Flag: "new-checkout", Env: "production"}},
		{name: "show keys kept as typed", in: "SHOW New_Checkout.v2 Production", want: Show{Flag: "New_Checkout.v2", Env: "Production"}},
		{name: "show all options", in: "show new-checkout --env production --project web --share", want: Show{Flag: "new-checkout", Env: "production", Project: "web", Output: share}},
		{name: "show smart-quoted key", in: "show “new-checkout” production", want: Show{Flag: "new-checkout", Env: "production"}},
		{name: "show env both ways, same", in: "show new-checkout production --env=production", want: Show{Flag: "new-checkout", Env: "production"}},
		{name: "show env both ways, different", in: "show new-checkout production --env staging", wantUsage: "show", wantMsg: "two environments"},
		{name: "show without key", in: "show", wantUsage: "show", wantMsg: "needs a flag key"},
		{name: "show only options", in: "show --project web", wantUsage: "show", wantMsg: "needs a flag key"},
		{name: "show too many", in: "show a b c", wantUsage: "show", wantMsg: "at most 2 arguments"},
		{name: "show words instead of a key", in: `show "new checkout"`, wantUsage: "show", wantMsg: "try `/flag list new checkout`"},
		{name: "show empty key", in: `show ""`, wantUsage: "show", wantMsg: "flag key is empty"},
		{name: "show invalid env", in: "show new-checkout prod/uction", wantUsage: "show", wantMsg: "isn't a valid environment key"},
		{name: "show unknown option", in: "show new-checkout --tag beta", wantUsage: "show", wantMsg: "`--tag`"},
		{name: "show --project without value", in: "show new-checkout --project", wantUsage: "show", wantMsg: "`--project web`"},

		// segments
		{name: "segments", in: "segments", want: Segments{}},
		{name: "segments env and project", in: "segments production --project web", want: Segments{Env: "production", Project: "web"}},
		{name: "segments --env shared", in: "segments --env production --share", want: Segments{Env: "production", Output: share}},
		{name: "segments too many", in: "segments a b", wantUsage: "segments"},

		// segment
		{name: "segment", in: "segment beta-testers", want: Segment{Key: "beta-testers"}},
		{name: "segment env and project", in: "segment beta-testers staging --project mobile-app", want: Segment{Key: "beta-testers", Env: "staging", Project: "mobile-app"}},
		{name: "segment without key", in: "segment", wantUsage: "segment", wantMsg: "needs a segment key"},
		{name: "segment too many", in: "segment beta testers now", wantUsage: "segment"},
		{name: "segment invalid key", in: "segment beta,testers", wantUsage: "segment", wantMsg: "segment key"},

		// contexts
		{name: "contexts", in: "contexts", want: Contexts{}},
		{name: "contexts word", in: "contexts alice", want: Contexts{Words: "alice"}},
		{name: "contexts every option", in: `contexts "alice@example.com" --kind user --env production --project web --share`,
			want: Contexts{Words: "alice@example.com", Kind: "user", Env: "production", Project: "web", Output: share}},
		{name: "contexts words are all search words", in: "contexts alice smith production", want: Contexts{Words: "alice smith production"}},
		{name: "contexts --kind without value", in: "contexts --kind", wantUsage: "contexts"},
		{name: "contexts invalid kind", in: "contexts --kind 'a b'", wantUsage: "contexts", wantMsg: "context kind"},
		{name: "contexts unknown option", in: "contexts alice --tag x", wantUsage: "contexts"},

		// context
		{name: "context kind:key env", in: "context user:alice@example.com production", want: Context{Kind: "user", Key: "alice@example.com", Env: "production"}},
		{name: "context bare key means user", in: "context alice", want: Context{Kind: "user", Key: "alice"}},
		{name: "context options", in: "context device:ios-7f3a --project web --share", want: Context{Kind: "device", Key: "ios-7f3a", Project: "web", Output: share}},
		{name: "context Slack-linked email", in: "context user:<mailto:alice@example.com|alice@example.com> production", want: Context{Kind: "user", Key: "alice@example.com", Env: "production"}},
		{name: "context key with colons", in: "context org:acme:eu", want: Context{Kind: "org", Key: "acme:eu"}},
		{name: "context quoted key with space", in: `context "alice smith"`, want: Context{Kind: "user", Key: "alice smith"}},
		{name: "context without kind before colon", in: "context :alice", wantUsage: "context", wantMsg: "`user:alice`"},
		{name: "context without key after colon", in: "context user:", wantUsage: "context", wantMsg: "needs a key after the kind"},
		{name: "context invalid kind", in: `context "bad kind:x"`, wantUsage: "context", wantMsg: "context kind"},
		{name: "context without argument", in: "context", wantUsage: "context"},
		{name: "context too many", in: "context a b c", wantUsage: "context"},

		// audit
		{name: "audit", in: "audit", want: Audit{}},
		{name: "audit flag and days", in: "audit --flag new-checkout --since 7d", want: Audit{Flag: "new-checkout", Since: 7 * 24 * time.Hour}},
		{name: "audit every option", in: "audit --env production --since=36h --limit 20 --share --project web",
			want: Audit{Env: "production", Since: 36 * time.Hour, Limit: 20, Project: "web", Output: share}},
		{name: "audit minutes", in: "audit --since 90m", want: Audit{Since: 90 * time.Minute}},
		{name: "audit days and hours", in: "audit --since 1d12h", want: Audit{Since: 36 * time.Hour}},
		{name: "audit upper-case unit", in: "audit --since 24H", want: Audit{Since: 24 * time.Hour}},
		{name: "audit 30 days is the most", in: "audit --since 30d", want: Audit{Since: 30 * 24 * time.Hour}},
		{name: "audit 31 days", in: "audit --since 31d", wantUsage: "audit", wantMsg: "at most 30 days"},
		{name: "audit 721 hours", in: "audit --since 721h", wantUsage: "audit", wantMsg: "at most 30 days"},
		{name: "audit 30 days and a minute", in: "audit --since 30d1m", wantUsage: "audit", wantMsg: "at most 30 days"},
		{name: "audit zero", in: "audit --since 0", wantUsage: "audit", wantMsg: "longer than zero"},
		{name: "audit zero days", in: "audit --since 0d", wantUsage: "audit", wantMsg: "longer than zero"},
		{name: "audit negative", in: "audit --since=-1h", wantUsage: "audit", wantMsg: "time span"},
		{name: "audit negative looks like an option", in: "audit --since -1h", wantUsage: "audit", wantMsg: "needs a value"},
		{name: "audit words for since", in: "audit --since 7days", wantUsage: "audit", wantMsg: "time span"},
		{name: "audit fractional days", in: "audit --since 1.5d", wantUsage: "audit", wantMsg: "time span"},
		{name: "audit no unit", in: "audit --since 12", wantUsage: "audit", wantMsg: "time span"},
		{name: "audit days plus the longest duration", in: "audit --since 999d2562047h", wantUsage: "audit", wantMsg: "at most 30 days"},
		{name: "audit huge days", in: "audit --since 99999999999999999999d", wantUsage: "audit", wantMsg: "time span"},
		{name: "audit limit 1", in: "audit --limit 1", want: Audit{Limit: 1}},
		{name: "audit limit 50", in: "audit --limit=50", want: Audit{Limit: 50}},
		{name: "audit limit 0", in: "audit --limit 0", wantUsage: "audit", wantMsg: "from 1 to 50"},
		{name: "audit limit 51", in: "audit --limit 51", wantUsage: "audit", wantMsg: "from 1 to 50"},
		{name: "audit limit words", in: "audit --limit ten", wantUsage: "audit", wantMsg: "from 1 to 50"},
		{name: "audit positional flag hint", in: "audit new-checkout", wantUsage: "audit", wantMsg: "`/flag audit --flag new-checkout`"},
		{name: "audit positional words", in: "audit new checkout", wantUsage: "audit"},
		{name: "audit invalid flag key", in: "audit --flag 'a b'", wantUsage: "audit", wantMsg: "isn't a valid flag key"},

		// unknown subcommands and general errors
		{name: "unknown subcommand suggests", in: "shwo new-checkout", wantMsg: "I don't know `shwo`. Did you mean `show`? Try `/flag help`."},
		{name: "unknown subcommand one letter off", in: "lst", wantMsg: "Did you mean `list`?"},
		{name: "unknown subcommand prefix", in: "seg", wantMsg: "Did you mean `segments`?"},
		{name: "unknown subcommand transposition", in: "sgement x", wantMsg: "Did you mean `segment`?"},
		{name: "flag key as subcommand", in: "checkout", wantMsg: "try `/flag show checkout`"},
		{name: "unknown subcommand without suggestion", in: "xyzzy!", wantMsg: "I don't know `xyzzy!`. Try `/flag help`."},
		{name: "unknown subcommand with backticks", in: "a`b`", wantMsg: "I don't know `ab`."},
		{name: "option first", in: "--share list", wantMsg: "Start with a subcommand"},
		{name: "unterminated quote on subcommand", in: `"show`, wantMsg: "never closed"},
		{name: "unterminated smart quote alone", in: "“", wantMsg: "never closed"},
		{name: "too long", in: "list " + strings.Repeat("a", maxParseRunes), wantMsg: "at most 4000"},
		{name: "longest accepted", in: "list " + strings.Repeat("a", maxParseRunes-5), want: List{Words: strings.Repeat("a", maxParseRunes-5)}},
		{name: "longest accepted, multi-byte", in: "list " + strings.Repeat("é", maxParseRunes-5), want: List{Words: strings.Repeat("é", maxParseRunes-5)}},
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tt := range parseTests() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.in)
			if tt.want != nil {
				if err != nil {
					t.Fatalf("Parse(%q) error = %v, want %#v", tt.in, err, tt.want)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("Parse(%q) = %#v, want %#v", tt.in, got, tt.want)
				}
				return
			}
			if got != nil {
				t.Errorf("Parse(%q) = %#v with error %v, want no command", tt.in, got, err)
			}
			ue := wantUsageError(t, tt.in, err)
			if ue.Help.Name != tt.wantUsage {
				t.Errorf("Parse(%q) usage help = %q, want %q (msg %q)", tt.in, ue.Help.Name, tt.wantUsage, ue.Msg.String())
			}
			if tt.wantUsage != "" {
				h, _ := LookupHelp(tt.wantUsage)
				if !reflect.DeepEqual(ue.Help, h) {
					t.Errorf("Parse(%q) usage help = %#v, want the table entry %#v", tt.in, ue.Help, h)
				}
			}
			if !strings.Contains(ue.Msg.String(), tt.wantMsg) {
				t.Errorf("Parse(%q) usage msg = %q, want it to contain %q", tt.in, ue.Msg.String(), tt.wantMsg)
			}
		})
	}
}

// wantUsageError fails unless err is a *UsageError with a message.
func wantUsageError(t *testing.T, in string, err error) *UsageError {
	t.Helper()
	ue, ok := err.(*UsageError)
	if !ok {
		t.Fatalf("Parse(%q) error = %#v, want a *UsageError", in, err)
	}
	if ue.Msg.String() == "" {
		t.Fatalf("Parse(%q) returned a *UsageError with an empty Msg", in)
	}
	if KindOf(err) != KindUsage {
		t.Fatalf("KindOf(Parse(%q) error) = %v, want %v", in, KindOf(err), KindUsage)
	}
	var target *UsageError
	if !errors.As(err, &target) {
		t.Fatalf("errors.As(Parse(%q) error, *UsageError) = false", in)
	}
	return ue
}

// checkParsed fails if a successfully parsed command lacks a required key
// or holds a value the parser should have refused.
func checkParsed(t *testing.T, in string, cmd Command) {
	t.Helper()
	if _, ok := LookupHelp(cmd.Name()); !ok {
		t.Fatalf("Parse(%q) = %#v, whose Name %q is not in the help table", in, cmd, cmd.Name())
	}
	keys := map[string]string{}
	required := map[string]string{}
	switch c := cmd.(type) {
	case Help:
		if c.Topic != "" {
			if h, ok := LookupHelp(c.Topic); !ok || h.Name != c.Topic {
				t.Fatalf("Parse(%q) = %#v, want a canonical topic", in, c)
			}
		}
	case Connect, Status, Disconnect, Projects:
	case Config:
		switch c.Setting {
		case SettingProject, SettingEnv:
			required["value"] = c.Value
		default:
			if !checkParsedWrite(t, in, cmd) {
				t.Fatalf("Parse(%q) = %#v, unknown setting", in, c)
			}
		}
	case Envs:
		keys["project"] = c.Project
	case List:
		keys["project"], keys["env"], keys["tag"] = c.Project, c.Env, c.Tag
		if c.Offset != 0 {
			t.Fatalf("Parse(%q) = %#v, want Offset 0", in, c)
		}
	case Show:
		required["flag"] = c.Flag
		keys["project"], keys["env"] = c.Project, c.Env
	case Segments:
		keys["project"], keys["env"] = c.Project, c.Env
	case Segment:
		required["key"] = c.Key
		keys["project"], keys["env"] = c.Project, c.Env
	case Contexts:
		keys["project"], keys["env"], keys["kind"] = c.Project, c.Env, c.Kind
	case Context:
		required["kind"] = c.Kind
		if strings.TrimSpace(c.Key) == "" {
			t.Fatalf("Parse(%q) = %#v, want a context key", in, c)
		}
		keys["project"], keys["env"] = c.Project, c.Env
	case Audit:
		keys["project"], keys["env"], keys["flag"] = c.Project, c.Env, c.Flag
		if c.Since < 0 || c.Since > maxAuditSince || c.Limit < 0 || c.Limit > maxAuditLimit {
			t.Fatalf("Parse(%q) = %#v, since or limit out of range", in, c)
		}
	default:
		if !checkParsedWrite(t, in, cmd) && !checkParsedDigest(t, in, cmd) {
			// A subcommand with no checks of its own here: its Project,
			// Env and Flag fields, when set, are keys.
			v := reflect.ValueOf(cmd)
			for _, name := range []string{"Project", "Env", "Flag"} {
				if v.Kind() == reflect.Struct {
					if f := v.FieldByName(name); f.IsValid() && f.Kind() == reflect.String {
						keys[strings.ToLower(name)] = f.String()
					}
				}
			}
		}
	}
	for name, v := range required {
		if !validKey(v) {
			t.Fatalf("Parse(%q) = %#v, required %s %q is not a valid key", in, cmd, name, v)
		}
	}
	for name, v := range keys {
		if v != "" && !validKey(v) {
			t.Fatalf("Parse(%q) = %#v, %s %q is not a valid key", in, cmd, name, v)
		}
	}
}

func TestParseTableResultsAreValid(t *testing.T) {
	t.Parallel()
	for _, tt := range parseTests() {
		if tt.want != nil {
			checkParsed(t, tt.in, tt.want)
		}
	}
}

func TestParseSince(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{in: "7d", want: 7 * 24 * time.Hour, wantOK: true},
		{in: "36h", want: 36 * time.Hour, wantOK: true},
		{in: "90m", want: 90 * time.Minute, wantOK: true},
		{in: "1d12h30m", want: 36*time.Hour + 30*time.Minute, wantOK: true},
		{in: "7D", want: 7 * 24 * time.Hour, wantOK: true},
		{in: "0", want: 0, wantOK: true}, // accepted here, refused by Parse as not positive
		{in: "d"},
		{in: "+7d"},
		{in: "-7d"},
		{in: "1000d"},
		{in: "7d-1h"},
		{in: "1d2d"},
		{in: "1w"},
		{in: ""},
	}
	for _, tt := range tests {
		got, ok := parseAuditSince(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseAuditSince(%q) = %v, %v, want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestTokenizeRecordsUnclosedQuote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		want     []parseToken
		wantOpen int
	}{
		{in: `a "b c" d`, want: []parseToken{{text: "a"}, {text: "b c", quoted: true}, {text: "d"}}, wantOpen: -1},
		{in: `--tag="b c"`, want: []parseToken{{text: "--tag=b c"}}, wantOpen: -1},
		{in: `a "b`, want: []parseToken{{text: "a"}}, wantOpen: 2},
		{in: "“a” ‘b’ `c`", want: []parseToken{{text: "a", quoted: true}, {text: "b", quoted: true}, {text: "c", quoted: true}}, wantOpen: -1},
		{in: `"a ’b" x`, want: []parseToken{{text: "a ’b", quoted: true}, {text: "x"}}, wantOpen: -1},
		{in: `""`, want: []parseToken{{text: "", quoted: true}}, wantOpen: -1},
	}
	for _, tt := range tests {
		got, open := tokenize(tt.in)
		if !reflect.DeepEqual(got, tt.want) || open != tt.wantOpen {
			t.Errorf("tokenize(%q) = %#v, %d, want %#v, %d", tt.in, got, open, tt.want, tt.wantOpen)
		}
	}
}

func TestUnslack(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{in: "<mailto:a@b.co|a@b.co>", want: "a@b.co"},
		{in: "<mailto:a@b.co>", want: "a@b.co"},
		{in: "<https://example.com|example.com> x", want: "example.com x"},
		{in: "<https://example.com>", want: "https://example.com"},
		{in: "a < b > c", want: "a < b > c"},
		{in: "a <b", want: "a <b"},
		{in: "<>", want: "<>"},
		{in: "&lt;b&gt; &amp;lt;", want: "<b> &lt;"},
		{in: "plain", want: "plain"},
	}
	for _, tt := range tests {
		if got := unslack(tt.in); got != tt.want {
			t.Errorf("unslack(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, tt := range parseTests() {
		f.Add(tt.in)
	}
	for _, h := range HelpTable() {
		for _, ex := range h.Examples {
			f.Add(ex)
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		cmd, err := Parse(in)
		if err != nil {
			if cmd != nil {
				t.Fatalf("Parse(%q) = %#v and error %v", in, cmd, err)
			}
			ue := wantUsageError(t, in, err)
			if ue.Help.Name != "" {
				if h, ok := LookupHelp(ue.Help.Name); !ok || !reflect.DeepEqual(h, ue.Help) {
					t.Fatalf("Parse(%q) usage help %#v is not a table entry", in, ue.Help)
				}
			}
			return
		}
		if cmd == nil {
			t.Fatalf("Parse(%q) = nil, nil", in)
		}
		if utf8.RuneCountInString(in) > maxParseRunes {
			t.Fatalf("Parse accepted %d characters", utf8.RuneCountInString(in))
		}
		checkParsed(t, in, cmd)
	})
}
