package ui

import (
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"
)

// staticFiles returns every embedded file by path below static/.
func staticFiles(tb testing.TB) map[string]string {
	tb.Helper()
	out := map[string]string{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(static, p)
		out[strings.TrimPrefix(p, "static/")] = string(data)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// svgNS is an XML namespace name: it is never fetched.
const svgNS = "http://www.w3.org/2000/svg"

// TestNoExternalURLs keeps the UI self-contained: no CDN, font service or
// analytics, so it works offline and the CSP never has to allow another
// origin. Comments may cite URLs.
func TestNoExternalURLs(t *testing.T) {
	external := regexp.MustCompile(`(?i)https?://|(?:src|href|action)\s*=\s*["']//|url\(\s*["']?//|from\s+["']//|import\(\s*["']//`)
	for name, text := range staticFiles(t) {
		code := strings.ReplaceAll(stripComments(name, text), svgNS, "")
		if loc := external.FindStringIndex(code); loc != nil {
			t.Errorf("%s: external URL near %q", name, excerpt(code, loc[0]))
		}
	}
}

// TestNoHTMLSinks keeps strings from the API out of the HTML parser: the
// scripts build the DOM with text nodes only (the CSP's Trusted Types
// would make these throw at run time; this finds them before).
func TestNoHTMLSinks(t *testing.T) {
	sinks := regexp.MustCompile(`\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\s*\(|new\s+Function\b|createContextualFragment|srcdoc|DOMParser`)
	for name, text := range staticFiles(t) {
		if path.Ext(name) != ".js" {
			continue
		}
		code := stripComments(name, text)
		if loc := sinks.FindStringIndex(code); loc != nil {
			t.Errorf("%s: HTML sink near %q", name, excerpt(code, loc[0]))
		}
	}
}

// TestModules checks that every relative import names an embedded file and
// that the index preloads every module, so the page fetches them in one
// round trip instead of a waterfall.
func TestModules(t *testing.T) {
	files := staticFiles(t)
	index := files[indexName]
	imports := regexp.MustCompile(`(?m)^\s*import\s[^;]*?from\s+'(\./[^']+)'|^\s*import\s+'(\./[^']+)'`)
	for name, text := range files {
		if path.Ext(name) != ".js" {
			continue
		}
		if name != "js/main.js" && !strings.Contains(index, `rel="modulepreload" href="{{ASSETS}}/`+name+`"`) {
			t.Errorf("index.html does not preload %s", name)
		}
		for _, m := range imports.FindAllStringSubmatch(text, -1) {
			target := path.Join(path.Dir(name), m[1]+m[2])
			if _, ok := files[target]; !ok {
				t.Errorf("%s imports %s, which is not embedded", name, target)
			}
		}
	}
}

// TestFilesStaySmall holds the house rule of small files for the assets.
func TestFilesStaySmall(t *testing.T) {
	for name, text := range staticFiles(t) {
		if n := strings.Count(text, "\n"); n > 400 {
			t.Errorf("%s has %d lines; split it", name, n)
		}
	}
}

func TestStripComments(t *testing.T) {
	tests := []struct{ name, file, in, want string }{
		{"js line", "a.js", "a(); // see https://x\nb();", "a(); \nb();"},
		{"js block", "a.js", "a(/* https://x */1)", "a(1)"},
		{"js string kept", "a.js", `s = "// not a comment https://x"`, `s = "// not a comment https://x"`},
		{"js template kept", "a.js", "s = `/* x */`", "s = `/* x */`"},
		{"js regex with slashes", "a.js", `r = /^#\/run$/; // c`, `r = /^#\/run$/; `},
		{"css", "a.css", "a{} /* https://x */ b{}", "a{}  b{}"},
		{"html", "a.html", "<p><!-- https://x --></p>", "<p></p>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stripComments(tt.file, tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// stripComments removes the comments of a JS, CSS or HTML file, keeping
// strings (a "//" inside quotes is not a comment).
func stripComments(name, text string) string {
	switch path.Ext(name) {
	case ".html", ".svg":
		return regexp.MustCompile(`(?s)<!--.*?-->`).ReplaceAllString(text, "")
	case ".css":
		return regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(text, "")
	case ".js":
		return stripJSComments(text)
	}
	return text
}

func stripJSComments(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			end := stringEnd(s, i)
			b.WriteString(s[i:end])
			i = end - 1
		case strings.HasPrefix(s[i:], "//") && !afterRegexStart(s, i):
			for i < len(s) && s[i] != '\n' {
				i++
			}
			if i < len(s) {
				b.WriteByte('\n')
			}
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return b.String()
			}
			i += end + 3
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// stringEnd is the index after the quote closing the string opened at i.
func stringEnd(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case q:
			return j + 1
		}
	}
	return len(s)
}

// afterRegexStart tells a "//" that is really an escaped slash inside a
// regular expression literal ("\/\/") from a comment.
func afterRegexStart(s string, i int) bool {
	return i > 0 && s[i-1] == '\\'
}

func excerpt(s string, at int) string {
	lo, hi := max(0, at-30), min(len(s), at+50)
	return s[lo:hi]
}
