package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestIsLoopbackAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr    string
		want    bool
		wantErr bool
	}{
		{"127.0.0.1:8088", true, false},
		{"localhost:8088", true, false},
		{"[::1]:8088", true, false},
		{"127.0.0.2:0", true, false},
		{":8088", false, false},
		{"0.0.0.0:8088", false, false},
		{"192.168.1.10:8088", false, false},
		{"example.com:8088", false, false},
		{"8088", false, true},
	}
	for _, tt := range tests {
		got, err := isLoopbackAddr(tt.addr)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("isLoopbackAddr(%q) = %v, %v; want %v (error %v)", tt.addr, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestPlaygroundArguments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		wantErr string
		wantOut string // on stderr
	}{
		{"help", []string{"-h"}, "", "Usage: flagbot playground [-addr host:port]"},
		{"stray argument", []string{"now"}, `unexpected argument "now"`, "Usage:"},
		{"bad address", []string{"-addr", "8088"}, "-addr 8088", ""},
		{"unknown flag", []string{"-port", "1"}, "flag provided but not defined", ""},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append([]string{"flagbot", "playground"}, tt.args...), func(string) string { return "" }, &stdout, &stderr)
		if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
		}
		if !strings.Contains(stderr.String(), tt.wantOut) {
			t.Errorf("%s: stderr = %q, want %q in it", tt.name, stderr.String(), tt.wantOut)
		}
		if stdout.Len() != 0 {
			t.Errorf("%s: printed %q, want nothing on stdout", tt.name, stdout.String())
		}
	}
}
