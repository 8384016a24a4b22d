package ld

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flagbot/flagbot/internal/secret"
)

// maxIdleConns is how many idle connections to LaunchDarkly the default
// transport keeps: more than the bot ever has requests in flight.
const maxIdleConns = 64

const (
	// APIVersion is the LD-API-Version every request pins.
	APIVersion = "20240415"

	// SemanticPatchContentType is the Content-Type of semantic patch bodies.
	SemanticPatchContentType = "application/json; domain-model=launchdarkly.semanticpatch"

	defaultTimeout    = 15 * time.Second
	defaultUserAgent  = "flagbot"
	defaultMaxRetries = 3
	defaultMaxWait    = 15 * time.Second

	// minRateLimitWait is the shortest wait after a 429, whatever its headers say.
	minRateLimitWait = 250 * time.Millisecond
	// backoffBase is the first wait before retrying a read after a 5xx or a
	// network failure; it doubles on each further attempt.
	backoffBase = 250 * time.Millisecond

	// maxErrorBody caps how much of an error answer is read.
	maxErrorBody = 64 << 10
	// maxResponseBody caps a success answer; a larger one is an error rather
	// than a truncated decode.
	maxResponseBody = 8 << 20

	// maxPages caps how many pages one list call follows, so a misbehaving
	// server cannot keep the client paging forever.
	maxPages = 50
)

// Options are the optional knobs of a Client. The zero value means sensible
// defaults.
type Options struct {
	// HTTPClient sends the requests. Default: an http.Client with a 15s timeout.
	HTTPClient *http.Client
	// UserAgent is sent as User-Agent. Default "flagbot".
	UserAgent string
	// Logger receives one line per request (method, path, status, duration,
	// LaunchDarkly request id), never the token. Default: discard.
	Logger *slog.Logger
	// MaxRetries is how many times a request is retried: after a 429 for
	// every method, after a 5xx or network failure for GETs only. Zero means
	// the default of 3; a negative value disables retries.
	MaxRetries int
	// MaxWait caps one wait before a retry. Default 15s.
	MaxWait time.Duration
	// Sleep waits d or until ctx is done, returning ctx's error then. It is
	// a test hook; the default uses a timer and honours ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// Observe, if set, is told the outcome of every attempt: the HTTP
	// status, or 0 when no answer came (not counting a caller that gave
	// up). ctx is the request's.
	Observe func(ctx context.Context, status int)
}

// Client talks to one LaunchDarkly instance. Make one with NewClient and
// derive a per-workspace client carrying that workspace's token with
// WithToken. A Client is safe for concurrent use.
type Client struct {
	base       *url.URL // always ends in a slash
	hc         *http.Client
	userAgent  string
	log        *slog.Logger
	maxRetries int
	maxWait    time.Duration
	sleep      func(ctx context.Context, d time.Duration) error
	observe    func(ctx context.Context, status int)
	token      secret.Secret
	bufs       *bodyBuffers // shared by WithToken's copies
}

// NewClient returns a client for the LaunchDarkly instance at baseURL, such
// as https://app.launchdarkly.com. The URL must be http or https with a host;
// a trailing slash is added if missing.
func NewClient(baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		// Drop url.Error's copy of the URL: it could carry credentials.
		if uerr := (*url.Error)(nil); errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("ld: invalid base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("ld: base URL %q: scheme must be http or https", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("ld: base URL %q has no host", u.Redacted())
	}
	if u.User != nil {
		return nil, errors.New("ld: base URL must not carry credentials")
	}
	u.RawQuery, u.Fragment = "", ""
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	c := &Client{
		base:       u,
		hc:         opts.HTTPClient,
		userAgent:  opts.UserAgent,
		log:        opts.Logger,
		maxRetries: opts.MaxRetries,
		maxWait:    opts.MaxWait,
		sleep:      opts.Sleep,
		observe:    opts.Observe,
		bufs:       new(bodyBuffers),
	}
	if c.observe == nil {
		c.observe = func(context.Context, int) {}
	}
	if c.hc == nil {
		// An own transport: closing another client's idle connections
		// (httptest servers do that to http.DefaultTransport) must not cut
		// our requests.
		t := http.DefaultTransport.(*http.Transport).Clone()
		// Keep a connection per request in flight: the default keeps two
		// per host, so under load most requests dialled afresh.
		t.MaxIdleConns, t.MaxIdleConnsPerHost = maxIdleConns, maxIdleConns
		c.hc = &http.Client{Timeout: defaultTimeout, Transport: t}
	}
	if c.userAgent == "" {
		c.userAgent = defaultUserAgent
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("component", "ld")
	switch {
	case c.maxRetries == 0:
		c.maxRetries = defaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.maxWait <= 0 {
		c.maxWait = defaultMaxWait
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	return c, nil
}

// WithToken returns a shallow copy of c that authenticates with token. The
// copy shares c's HTTP client, so it is cheap to make one per command.
func (c *Client) WithToken(token secret.Secret) *Client {
	c2 := *c
	c2.token = token
	return &c2
}

// String describes the client without its token. fmt cannot call the
// token's own redacting methods on an unexported field, so without this a
// client printed with %v, %+v or a slog text handler would show the token.
func (c Client) String() string {
	if c.base == nil {
		return "ld.Client()"
	}
	return "ld.Client(" + c.BaseURL() + ")"
}

// GoString is String, for %#v.
func (c Client) GoString() string { return c.String() }

// LogValue is String, for log/slog.
func (c Client) LogValue() slog.Value { return slog.StringValue(c.String()) }

// BaseURL returns the instance's base URL without a trailing slash, for
// links into LaunchDarkly's UI (join it with a flag environment's _site.href).
func (c *Client) BaseURL() string {
	return strings.TrimSuffix(c.base.String(), "/")
}

// outlasts reports whether waiting d would run past ctx's deadline, in which
// case a retry could never be sent and the failure at hand is the better
// answer.
func outlasts(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return ok && time.Until(deadline) < d
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// newRequest builds a request for ref, a path relative to the base URL
// (such as "api/v2/flags/web?env=production"). A leading slash is ignored,
// so host-relative hrefs from _links resolve under the base URL too. A
// non-nil body is sent as JSON with contentType, or application/json when
// contentType is empty. A path with a "." or ".." segment gives an *APIError
// matching ErrNotFound, and nothing is sent.
func (c *Client) newRequest(ctx context.Context, method, ref string, body any, contentType string) (*http.Request, error) {
	rel, err := url.Parse(strings.TrimLeft(ref, "/"))
	if err != nil {
		return nil, fmt.Errorf("invalid path: %w", err)
	}
	if rel.Scheme != "" || rel.Host != "" || rel.User != nil {
		return nil, fmt.Errorf("refusing absolute URL for %s", method)
	}
	// A key typed as "." or ".." would be a dot segment, which resolving
	// removes: `/flag show ..` would reach GET api/v2/flags, and a project
	// of ".." any endpoint one level up, with the workspace's token. No
	// LaunchDarkly key is a dot segment, so such a resource does not exist.
	for seg := range strings.SplitSeq(rel.EscapedPath(), "/") {
		if seg == "." || seg == ".." {
			return nil, &APIError{Status: http.StatusNotFound, Code: "not_found",
				Message: "a key cannot be . or ..", Method: method, Path: "/" + rel.EscapedPath()}
		}
	}
	u := c.base.ResolveReference(rel)

	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode body: %w", method, u.Path, err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), r)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u.Path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("LD-API-Version", APIVersion)
	req.Header.Set("User-Agent", c.userAgent)
	if !c.token.Empty() {
		req.Header.Set("Authorization", c.token.Reveal())
	}
	if body != nil {
		if contentType == "" {
			contentType = "application/json"
		}
		req.Header.Set("Content-Type", contentType)
	}
	return req, nil
}

// do sends req and decodes a success answer's JSON body into v (unless v is
// nil). It waits and retries after 429 for every method and after 5xx or
// network failures for GETs only, at most MaxRetries times, and only when the
// wait ends before ctx's deadline (otherwise the failure is returned at
// once rather than turned into a deadline error). Errors are
// *APIError, *RateLimitError, errors wrapping ErrUnavailable for network
// failures, or ctx's error.
func (c *Client) do(req *http.Request, v any) error {
	ctx := req.Context()
	method, path := req.Method, req.URL.Path
	read := method == http.MethodGet || method == http.MethodHead

	for attempt := 0; ; attempt++ {
		if attempt > 0 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return fmt.Errorf("%s %s: rewind body: %w", method, path, err)
			}
			req.Body = body
		}
		start := time.Now()
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return fmt.Errorf("%s %s: %w", method, path, ctxErr)
			}
			c.observe(ctx, 0)
			c.log.WarnContext(ctx, "ld request failed", "method", method, "path", path,
				"duration", time.Since(start), "attempt", attempt+1, "err", err)
			if wait := c.backoff(attempt); read && attempt < c.maxRetries && !outlasts(ctx, wait) {
				if err := c.sleep(ctx, wait); err != nil {
					return fmt.Errorf("%s %s: %w", method, path, err)
				}
				continue
			}
			return fmt.Errorf("%s %s: %w: %w", method, path, ErrUnavailable, err)
		}
		c.observe(ctx, resp.StatusCode)

		if resp.StatusCode == http.StatusTooManyRequests {
			wait := c.rateLimitWait(resp.Header, time.Now())
			apiErr := readAPIError(resp, method, path)
			c.log.WarnContext(ctx, "ld rate limited", "method", method, "path", path,
				"status", resp.StatusCode, "duration", time.Since(start), "ld_request_id", apiErr.ID,
				"attempt", attempt+1, "wait", wait)
			// A wait the caller's deadline cannot cover would only turn
			// "rate limited" into "timed out": say so now instead.
			if jittered := c.jitter(wait); attempt < c.maxRetries && !outlasts(ctx, jittered) {
				if err := c.sleep(ctx, jittered); err != nil {
					return fmt.Errorf("%s %s: %w", method, path, err)
				}
				continue
			}
			return &RateLimitError{APIError: *apiErr, RetryAfter: wait}
		}

		var wait time.Duration
		if resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented && read && attempt < c.maxRetries {
			wait = c.backoff(attempt)
		}
		if wait > 0 && !outlasts(ctx, wait) {
			apiErr := readAPIError(resp, method, path)
			c.log.WarnContext(ctx, "ld server error, retrying", "method", method, "path", path,
				"status", resp.StatusCode, "duration", time.Since(start), "ld_request_id", apiErr.ID,
				"attempt", attempt+1)
			if err := c.sleep(ctx, wait); err != nil {
				return fmt.Errorf("%s %s: %w", method, path, err)
			}
			continue
		}

		err = c.checkResponse(resp, method, path)
		if err != nil {
			var apiErr *APIError
			id := ""
			if errors.As(err, &apiErr) {
				id = apiErr.ID
			}
			level := slog.LevelInfo // a 4xx is usually the user's input or the token's role
			if resp.StatusCode >= 500 {
				level = slog.LevelWarn
			}
			c.log.Log(ctx, level, "ld request", "method", method, "path", path,
				"status", resp.StatusCode, "duration", time.Since(start), "ld_request_id", id)
			return err
		}
		c.log.DebugContext(ctx, "ld request", "method", method, "path", path,
			"status", resp.StatusCode, "duration", time.Since(start))
		return c.decodeBody(resp, method, path, v)
	}
}

// checkResponse returns nil for a 2xx answer and an *APIError otherwise, in
// which case it consumes and closes the body.
func (c *Client) checkResponse(resp *http.Response, method, path string) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return readAPIError(resp, method, path)
}

// readAPIError reads at most maxErrorBody bytes of an error answer, decodes
// {code, message, id} leniently and closes the body.
func readAPIError(resp *http.Response, method, path string) *APIError {
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{Status: resp.StatusCode, Method: method, Path: path}
	var body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		ID      string `json:"id"`
	}
	if len(bytes.TrimSpace(raw)) > 0 && json.Unmarshal(raw, &body) == nil {
		e.Code, e.Message, e.ID = body.Code, body.Message, body.ID
	}
	return e
}

// decodeBody reads a success answer, at most maxResponseBody bytes, into v
// and closes the body.
func (c *Client) decodeBody(resp *http.Response, method, path string, v any) error {
	defer resp.Body.Close()
	buf := c.bufs.get()
	defer c.bufs.put(buf)
	if err := readBody(buf, resp); err != nil {
		return fmt.Errorf("%s %s: read response: %w: %w", method, path, ErrUnavailable, err)
	}
	raw := buf.Bytes()
	if len(raw) > maxResponseBody {
		return fmt.Errorf("%s %s: response body larger than %d bytes", method, path, maxResponseBody)
	}
	if v == nil || resp.StatusCode == http.StatusNoContent || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	// Unmarshal copies what it keeps, so buf can serve the next answer.
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", method, path, err)
	}
	return nil
}

// readBody reads resp's body into buf, up to one byte more than
// maxResponseBody.
func readBody(buf *bytes.Buffer, resp *http.Response) error {
	if n := resp.ContentLength; n > 0 && n <= maxResponseBody {
		buf.Grow(int(n) + bytes.MinRead) // ReadFrom wants MinRead spare to see the end
	}
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, maxResponseBody+1))
	return err
}

// maxPooledBody is the largest response buffer kept for reuse: a flag or a
// page of flags, not a rare huge list.
const maxPooledBody = 64 << 10

// bodyBuffers recycles the buffers responses are read into: reading a
// 1.5 KB flag into a fresh buffer made 6 KB of garbage per command.
type bodyBuffers struct{ pool sync.Pool }

func (b *bodyBuffers) get() *bytes.Buffer {
	if buf, ok := b.pool.Get().(*bytes.Buffer); ok {
		buf.Reset()
		return buf
	}
	return new(bytes.Buffer)
}

func (b *bodyBuffers) put(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBody {
		b.pool.Put(buf)
	}
}

// backoff is the wait before retry attempt+1 of a read: backoffBase doubled
// per attempt, plus up to 25% jitter, capped at MaxWait.
func (c *Client) backoff(attempt int) time.Duration {
	d := backoffBase << min(attempt, 10)
	return c.jitter(min(d, c.maxWait))
}

// jitter adds up to 25% to d, keeping the result at most MaxWait.
func (c *Client) jitter(d time.Duration) time.Duration {
	if q := int64(d / 4); q > 0 {
		d += time.Duration(rand.Int64N(q + 1))
	}
	return min(d, c.maxWait)
}

// rateLimitWait is how long to wait after a 429: Retry-After (seconds) when
// present, else X-Ratelimit-Reset, clamped to 250ms..MaxWait.
// X-Ratelimit-Reset is documented as epoch milliseconds but is parsed
// defensively: above 1e12 it is epoch milliseconds, from 1e9 epoch seconds,
// and anything smaller seconds from now.
func (c *Client) rateLimitWait(h http.Header, now time.Time) time.Duration {
	d := time.Second
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil {
			d = seconds(secs)
		} else if t, err := http.ParseTime(v); err == nil {
			d = t.Sub(now)
		}
	} else if v := strings.TrimSpace(h.Get("X-Ratelimit-Reset")); v != "" {
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			switch {
			case n > 1e12:
				d = time.UnixMilli(int64(n)).Sub(now)
			case n >= 1e9:
				d = time.Unix(int64(n), 0).Sub(now)
			default:
				d = seconds(n)
			}
		}
	}
	return max(minRateLimitWait, min(d, c.maxWait))
}

// seconds converts a header's seconds to a Duration without overflowing:
// anything beyond a day is a day (and clamped further by the caller).
func seconds(n float64) time.Duration {
	if math.IsNaN(n) || n < 0 {
		return 0
	}
	if n > 86400 {
		return 24 * time.Hour
	}
	return time.Duration(n * float64(time.Second))
}

// get is newRequest plus do for a GET.
func (c *Client) get(ctx context.Context, ref string, v any) error {
	req, err := c.newRequest(ctx, http.MethodGet, ref, nil, "")
	if err != nil {
		return err
	}
	return c.do(req, v)
}

// pathf joins escaped path segments after a literal prefix, e.g.
// pathf("api/v2/flags", project, key).
func pathf(prefix string, segments ...string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// withQuery appends q to ref when q is not empty.
func withQuery(ref string, q url.Values) string {
	if len(q) == 0 {
		return ref
	}
	return ref + "?" + q.Encode()
}
