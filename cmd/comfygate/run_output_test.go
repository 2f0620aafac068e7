package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafeName(t *testing.T) {
	long := strings.Repeat("é", 150) + ".png"
	for _, tc := range []struct{ in, want string }{
		{"ComfyUI_00001_.png", "ComfyUI_00001_.png"},
		{"../../etc/passwd", "passwd"},
		{`..\..\windows\win.ini`, "win.ini"},
		{"/abs/path/x.png", "x.png"},
		{"sub/dir/", "fallback"},
		{"..", "fallback"},
		{".", "fallback"},
		{"", "fallback"},
		{".bashrc", "bashrc"},
		{"...hidden.png", "hidden.png"},
		{"a\x00b\nc.png", "a_b_c.png"},
		{`what?<>|*:".png`, "what_______.png"},
		{"  spaced  ", "spaced"},
		{long, strings.Repeat("é", 98) + ".png"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := safeName(tc.in, "fallback"); got != tc.want {
				t.Errorf("safeName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzSafeName(f *testing.F) {
	for _, s := range []string{"a.png", "../x", `..\y`, "\x00", strings.Repeat("ab/", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := safeName(s, "fallback")
		if got == "fallback" {
			return
		}
		if strings.ContainsAny(got, `/\`) || got == "." || got == ".." || strings.HasPrefix(got, ".") ||
			!filepath.IsLocal(got) || len(got) > maxNameBytes || strings.ContainsFunc(got, func(r rune) bool { return r < 0x20 }) {
			t.Fatalf("safeName(%q) = %q: not a safe base name", s, got)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("safeName(%q) = %q: broke UTF-8", s, got)
		}
	})
}

func TestWriteUnique(t *testing.T) {
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var names []string
	for i := range 3 {
		name, err := writeUnique(root, "out.png", strings.NewReader(strings.Repeat("x", i)))
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	if strings.Join(names, " ") != "out.png out-1.png out-2.png" {
		t.Errorf("names %v", names)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "out-2.png")); string(data) != "xx" {
		t.Errorf("out-2.png holds %q", data)
	}

	t.Run("a failed copy leaves nothing", func(t *testing.T) {
		if _, err := writeUnique(root, "broken.png", failingReader{}); err == nil {
			t.Fatal("no error")
		}
		if _, err := os.Stat(filepath.Join(dir, "broken.png")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("broken.png left behind: %v", err)
		}
	})
	t.Run("a symlink is not followed", func(t *testing.T) {
		outside := filepath.Join(t.TempDir(), "target")
		if err := os.Symlink(outside, filepath.Join(dir, "link.png")); err != nil {
			t.Skip(err)
		}
		name, err := writeUnique(root, "link.png", strings.NewReader("data"))
		if err != nil || name != "link-1.png" {
			t.Fatalf("wrote %q, %v; want link-1.png", name, err)
		}
		if _, err := os.Stat(outside); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the write went through the symlink: %v", err)
		}
	})
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }
