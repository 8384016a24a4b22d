package ld

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestRateLimitWait(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c, err := NewClient("https://app.launchdarkly.com", Options{MaxWait: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ms := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).UnixMilli(), 10) }
	secs := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	tests := []struct {
		name    string
		headers map[string]string
		want    time.Duration
	}{
		{"retry-after seconds", map[string]string{"Retry-After": "3"}, 3 * time.Second},
		{"retry-after wins over reset", map[string]string{"Retry-After": "2", "X-Ratelimit-Reset": ms(9 * time.Second)}, 2 * time.Second},
		{"retry-after http date", map[string]string{"Retry-After": now.Add(4 * time.Second).Format(http.TimeFormat)}, 4 * time.Second},
		{"reset epoch ms", map[string]string{"X-Ratelimit-Reset": ms(5 * time.Second)}, 5 * time.Second},
		{"reset epoch seconds", map[string]string{"X-Ratelimit-Reset": secs(6 * time.Second)}, 6 * time.Second},
		{"reset seconds from now", map[string]string{"X-Ratelimit-Reset": "7"}, 7 * time.Second},
		{"reset in the past", map[string]string{"X-Ratelimit-Reset": ms(-time.Minute)}, 250 * time.Millisecond},
		{"negative", map[string]string{"X-Ratelimit-Reset": "-40"}, 250 * time.Millisecond},
		{"far future clamped", map[string]string{"X-Ratelimit-Reset": ms(time.Hour)}, 15 * time.Second},
		{"retry-after huge", map[string]string{"Retry-After": "86400"}, 15 * time.Second},
		{"retry-after overflow", map[string]string{"Retry-After": "1e300"}, 15 * time.Second},
		{"nan", map[string]string{"Retry-After": "NaN"}, 250 * time.Millisecond},
		{"zero", map[string]string{"Retry-After": "0"}, 250 * time.Millisecond},
		{"garbage", map[string]string{"Retry-After": "soon"}, time.Second},
		{"no headers", nil, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.headers {
				h.Set(k, v)
			}
			if got := c.rateLimitWait(h, now); got != tt.want {
				t.Errorf("rateLimitWait(%v) = %v, want %v", tt.headers, got, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	c, err := NewClient("https://app.launchdarkly.com", Options{MaxWait: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for attempt, base := range []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second} {
		for range 20 {
			got := c.backoff(attempt)
			if got < base || got > min(base+base/4, 3*time.Second) {
				t.Fatalf("backoff(%d) = %v, want %v plus at most 25%%, at most MaxWait", attempt, got, base)
			}
		}
	}
	if got := c.backoff(200); got != 3*time.Second {
		t.Errorf("backoff(200) = %v, want MaxWait", got)
	}
}
