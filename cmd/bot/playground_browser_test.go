package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/flagbot/flagbot/internal/playground"
)

// The browser tests drive the playground page in headless Chromium: the
// real bot behind it, the fake Slack and the demo LaunchDarkly. They skip
// when no browser is installed, unless CI or FLAGBOT_TEST_BROWSER=1 says
// one must be (scripts/test.sh installs Debian's chromium and sets it).

// browserTimeout bounds one step of a browser test.
const browserTimeout = 15 * time.Second

// findBrowser returns a Chromium or Chrome executable, or fails or skips
// the test when there is none.
func findBrowser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" || os.Getenv("FLAGBOT_TEST_BROWSER") == "1" {
		t.Fatal("no chromium on PATH, and CI or FLAGBOT_TEST_BROWSER=1 requires the browser tests (apt-get install -y chromium)")
	}
	t.Skip("no chromium on PATH: skipping the browser tests (scripts/test.sh installs it; FLAGBOT_TEST_BROWSER=1 makes this a failure)")
	return ""
}

// startPlayground runs `flagbot playground -addr 127.0.0.1:0` through run
// and returns the page's URL once the bot is connected.
func startPlayground(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, logs := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"flagbot", "playground", "-addr", "127.0.0.1:0"}, func(string) string { return "" }, out, logs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("playground returned %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("playground did not stop within 15s")
		}
		if t.Failed() {
			t.Logf("playground output:\n%s\nlog:\n%s", out.String(), logs.String())
		}
	})
	re := regexp.MustCompile(`open (http://127\.0\.0\.1:\d+/)`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("playground stopped early: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("playground printed no URL within 10s:\n%s\n%s", out.String(), logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// newBrowser starts headless Chromium with a fresh profile; it fails the
// test (never skips) when the browser cannot start.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(findBrowser(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first action starts the browser; it must not run under a
	// timeout, which would stop the browser with it.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("chromium did not start: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("chromium did not start within 30s")
	}
	return ctx
}

// page is one browser tab on the playground.
type page struct {
	t   *testing.T
	ctx context.Context
}

func openPage(t *testing.T, browser context.Context, url string) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	// The tab lives as long as the context of its first action: that one
	// runs without a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	p := &page{t: t, ctx: ctx}
	p.run("load the page", chromedp.Navigate(url),
		// An onerror=alert(1) that got through would flip this.
		evalVoid(`window.__alerted = false; window.alert = () => { window.__alerted = true; }; true`))
	p.waitText("the bot to connect", "#status", "Flagbot connected")
	return p
}

func (p *page) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v\npage text:\n%s", what, err, p.text())
	}
}

// text is what the page shows, for failure messages.
func (p *page) text() string {
	ctx, cancel := context.WithTimeout(p.ctx, browserTimeout)
	defer cancel()
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	return text
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](p *page, what, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("%s: %v\npage text:\n%s", what, err, p.text())
	}
	return v
}

// evalVoid is an action that evaluates expr for its effect.
func evalVoid(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[bool](expr)(ctx, t)
		return chromedp.Void{}, err
	}
}

// poll waits until expr is true.
func poll(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](expr, chromedp.WithPollingInterval(20*time.Millisecond))(ctx, t)
		return chromedp.Void{}, err
	}
}

// waitText waits until the element matched by CSS selector sel contains
// want.
func (p *page) waitText(what, sel, want string) {
	p.t.Helper()
	js := `(() => { const el = document.querySelector(` + jsString(sel) + `); return !!el && el.textContent.includes(` + jsString(want) + `); })()`
	p.run("wait for "+what, poll(js))
}

// waitXPath waits until an XPath matches a visible element.
func (p *page) waitXPath(what, xpath string) {
	p.t.Helper()
	p.run("wait for "+what, chromedp.WaitVisible(xpath))
}

func jsString(s string) string {
	var b bytes.Buffer
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// actAs picks a persona in the Acting as list, as a person would.
func (p *page) actAs(userID string) {
	p.t.Helper()
	p.run("act as "+userID,
		chromedp.SetValue(`//label[normalize-space()="Acting as"]/following-sibling::select`, userID),
		evalVoid(`document.getElementById("acting-as").dispatchEvent(new Event("change", {bubbles: true}))`))
	p.waitText("the page to reconnect", "#status", "Flagbot connected")
}

// send types text into the message box and presses Enter.
func (p *page) send(text string) {
	p.t.Helper()
	p.run("send "+text, chromedp.SendKeys(chromedp.CSS(`textarea[aria-label="Message"]`), text+kb.Enter))
}

// message returns an XPath for the newest channel message containing text.
func message(text string) string {
	return `(//ol[@id="messages"]/li[contains(., ` + xpathString(text) + `)])[last()]`
}

func xpathString(s string) string {
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return `concat("` + strings.ReplaceAll(s, `"`, `", '"', "`) + `")`
}

// clickButton clicks the <button> named name inside the element at xpath,
// confirming Slack's dialog when the button asks.
func (p *page) clickButton(xpath, name string) {
	p.t.Helper()
	btn := xpath + `//button[normalize-space()=` + xpathString(name) + `]`
	p.run("click "+name, chromedp.Click(btn))
	if eval[bool](p, "look for a confirm dialog", `!!document.querySelector("#confirm-root [role=dialog]")`) {
		p.run("confirm "+name, chromedp.Click(chromedp.CSS(`#confirm-root [data-confirm]`)))
	}
}

// ldCell is the text of a flag's on/off cell in the LaunchDarkly panel.
func (p *page) waitLD(project, flag, env, want string) {
	p.t.Helper()
	sel := `#ld-panel section[data-project="` + project + `"] tr[data-flag="` + flag + `"] td[data-env="` + env + `"]`
	js := `(() => { const td = document.querySelector(` + jsString(sel) + `); return !!td && td.textContent === ` + jsString(want) + `; })()`
	p.run("LaunchDarkly panel: "+flag+" "+want+" in "+env, poll(js))
}

// screenshot captures the viewport as a PNG.
func screenshot(p *page) []byte {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserTimeout)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	return shot
}

func TestPlaygroundInBrowser(t *testing.T) {
	browser := newBrowser(t)
	url := startPlayground(t)
	p := openPage(t, browser, url)

	t.Run("list", func(t *testing.T) {
		p.t = t
		p.send("/flag list")
		p.waitXPath("the flag list", message("Flags in web")+`//code[normalize-space()="new-checkout"]`)
	})

	t.Run("request, approve as someone else, see it applied", func(t *testing.T) {
		p.t = t
		p.actAs(playground.DemoAdmin)
		p.send("/flag off search-v2 production --reason demo")
		req := message("wants to turn off")
		p.waitXPath("the change request", req+`//button[normalize-space()="Approve"]`)
		p.waitLD("web", "search-v2", "production", "On")
		p.actAs(playground.DemoMember)
		p.clickButton(req, "Approve")
		p.waitXPath("the applied request", message("wants to turn off")+`[contains(., "Applied")]`)
		p.waitLD("web", "search-v2", "production", "Off")

		shot := screenshot(p)
		path := filepath.Join(t.TempDir(), "playground.png")
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(shot))
		if err != nil || len(shot) < 1000 {
			t.Fatalf("screenshot %s is not a PNG worth the name (%d bytes): %v", path, len(shot), err)
		}
		if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 600 {
			t.Errorf("screenshot is %dx%d, want the whole window", b.Dx(), b.Dy())
		}
		if out := os.Getenv("FLAGBOT_PLAYGROUND_SCREENSHOT"); out != "" {
			if err := os.WriteFile(out, shot, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("reject", func(t *testing.T) {
		p.t = t
		p.actAs(playground.DemoAdmin)
		p.send(`/flag on dark-mode production --reason "try it"`)
		req := `(//ol[@id="messages"]/li[contains(., "wants to turn on") and contains(., "dark-mode")])[last()]`
		p.waitXPath("the change request", req+`//button[normalize-space()="Reject"]`)
		p.actAs(playground.DemoMember2)
		p.clickButton(req, "Reject")
		p.waitXPath("the rejected request", req+`[contains(., "Rejected")]`)
		p.waitLD("web", "dark-mode", "production", "Off")
	})

	t.Run("cancel", func(t *testing.T) {
		p.t = t
		p.actAs(playground.DemoAdmin)
		p.send("/flag off max-cart-items production --reason oops")
		req := `(//ol[@id="messages"]/li[contains(., "wants to turn off") and contains(., "max-cart-items")])[last()]`
		p.waitXPath("the change request", req+`//button[normalize-space()="Cancel (requester)"]`)
		p.clickButton(req, "Cancel (requester)")
		p.waitXPath("the cancelled request", req+`[contains(., "Cancelled")]`)
		p.waitLD("web", "max-cart-items", "production", "On")
	})

	t.Run("Slack Connect partner cannot approve", func(t *testing.T) {
		p.t = t
		p.actAs(playground.DemoAdmin)
		p.send("/flag on banner-text production --reason sale")
		req := `(//ol[@id="messages"]/li[contains(., "wants to turn on") and contains(., "banner-text")])[last()]`
		p.waitXPath("the change request", req+`//button[normalize-space()="Approve"]`)
		p.actAs(playground.DemoPartner)
		p.clickButton(req, "Approve")
		p.waitXPath("the refusal", message("people from other organisations in this channel can't use it"))
		p.waitLD("web", "banner-text", "production", "Off")
	})

	t.Run("connect modal", func(t *testing.T) {
		p.t = t
		p.actAs(playground.DemoAdmin)
		p.send("/flag connect")
		p.waitXPath("the connect modal", `//div[@role="dialog"]//h2[contains(., "Connect LaunchDarkly")]`)
		token := `//div[@role="dialog"]//input[@id=//label[contains(., "access token")]/@for]`
		p.run("type a wrong token", chromedp.SendKeys(token, "api-not-a-demo-token"),
			chromedp.Click(`//div[@role="dialog"]//button[@type="submit"]`))
		p.waitXPath("the inline error", `//div[@role="dialog"]//p[@role="alert"]`)
		p.run("type the demo writer token",
			evalVoid(`document.querySelector('#modal-root [role=dialog] input[data-block-id="ld_token"]').value = ""; true`),
			chromedp.SendKeys(token, playground.DemoWriterToken),
			chromedp.Click(`//div[@role="dialog"]//button[@type="submit"]`))
		p.waitXPath("the confirmation", message("flagbot-demo-writer"))
		if eval[bool](p, "modal closed", `!!document.querySelector("#modal-root [role=dialog]")`) {
			t.Error("the modal is still open after a successful connect")
		}
	})

	t.Run("digest now", func(t *testing.T) {
		p.t = t
		p.actAs(playground.DemoAdmin)
		p.send("/flag digest subscribe")
		p.waitXPath("the subscription", message("Subscribed"))
		p.send("/flag digest now")
		p.waitXPath("the digest", `//ol[@id="messages"]/li[not(contains(@class, "msg-ephemeral"))]//h3[contains(., "LaunchDarkly digest")]`)
	})

	t.Run("user text is escaped", func(t *testing.T) {
		p.t = t
		evil := `<img src=x onerror=alert(1)>`
		p.actAs(playground.DemoAdmin)
		p.send("/flag create xss-demo " + evil)
		req := `(//ol[@id="messages"]/li[contains(., "xss-demo")])[last()]`
		p.waitXPath("the create request", req+`//button[normalize-space()="Approve"]`)
		p.actAs(playground.DemoMember)
		p.clickButton(req, "Approve")
		p.waitXPath("the applied create", req+`[contains(., "Applied")]`)
		p.waitText("the new flag in the panel", `#ld-panel tr[data-flag="xss-demo"]`, evil)
		imgs := eval[int](p, "count images", `document.querySelectorAll("img").length`)
		alerted := eval[bool](p, "alert trap", `window.__alerted`)
		if imgs != 0 || alerted {
			t.Errorf("the flag name became markup: %d <img> elements, alert called %v", imgs, alerted)
		}
	})

	t.Run("request form with the flag picker", func(t *testing.T) {
		p.t = t
		p.actAs(playground.DemoMember)
		p.send("/flag")
		form := `//div[@role="dialog"][.//h2[contains(., "Request a change")]]`
		p.waitXPath("the request form", form)
		p.run("type in the flag picker", chromedp.SendKeys(form+`//input[@data-block-id="req_flag"]`, "maint"))
		p.waitXPath("the picker's suggestion", `//ul[contains(@class, "suggestions")]/li[contains(., "maintenance-mode")]`)
		p.run("pick it", chromedp.Click(`//ul[contains(@class, "suggestions")]/li[contains(., "maintenance-mode")]`))
		p.waitXPath("the flag's state in the form", form+`//div[contains(@class, "sk-context")][contains(., "Maintenance mode")]`)
		p.run("choose to serve a variation",
			chromedp.SetValue(form+`//select[@data-block-id="req_action"]`, "serve"),
			evalVoid(`document.querySelector('#modal-root select[data-block-id="req_action"]').dispatchEvent(new Event("change", {bubbles: true}))`))
		p.waitXPath("the variation select", form+`//select[@data-block-id="req_variation"]`)
		if out := os.Getenv("FLAGBOT_PLAYGROUND_FORM_SCREENSHOT"); out != "" {
			if err := os.WriteFile(out, screenshot(p), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		p.run("pick Off and give a reason",
			evalVoid(`(() => { const s = document.querySelector('#modal-root select[data-block-id="req_variation"]'); s.value = [...s.options].find((o) => o.text.startsWith("Off")).value; return true; })()`),
			chromedp.SendKeys(form+`//textarea[@data-block-id="req_reason"]`, "from the form"),
			chromedp.Click(form+`//button[@type="submit"]`))
		req := `(//ol[@id="messages"]/li[contains(., "maintenance-mode") and contains(., "serves by default")])[last()]`
		p.waitXPath("the request from the form", req+`//button[normalize-space()="Approve"]`)
		if eval[bool](p, "modal closed", `!!document.querySelector("#modal-root [role=dialog]")`) {
			t.Error("the form is still open after its request was posted")
		}
	})
}
