package nodes

import (
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
)

// Python's os.path helpers differ from path/filepath at the edges (dirname
// of "." is "", basename keeps everything after the last slash), and
// ComfyUI's file naming depends on those edges.

// PyDirname is os.path.dirname.
func PyDirname(p string) string {
	i := strings.LastIndexByte(p, '/') + 1
	head := p[:i]
	if head != "" && strings.Trim(head, "/") != "" {
		head = strings.TrimRight(head, "/")
	}
	return head
}

// PyBasename is os.path.basename.
func PyBasename(p string) string {
	return p[strings.LastIndexByte(p, '/')+1:]
}

// PyJoin is os.path.join: an absolute component discards what came before.
func PyJoin(parts ...string) string {
	out := ""
	for _, p := range parts {
		switch {
		case strings.HasPrefix(p, "/"):
			out = p
		case out == "" || strings.HasSuffix(out, "/"):
			out += p
		default:
			out += "/" + p
		}
	}
	return out
}

// PyNormpath is os.path.normpath (without Python's special case of exactly
// two leading slashes).
func PyNormpath(p string) string { return filepath.Clean(p) }

// Within reports whether path is dir or inside it, compared lexically after
// making both absolute, like ComfyUI's os.path.commonpath checks.
func Within(dir, path string) bool {
	d, err1 := filepath.Abs(dir)
	p, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return false
	}
	if p == d {
		return true
	}
	return strings.HasPrefix(p, strings.TrimSuffix(d, "/")+"/")
}

// pyInt is int() of a string for the counter scan: surrounding whitespace,
// a sign and underscores between digits are allowed.
func pyInt(s string) (int64, bool) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	if s == "" || strings.HasPrefix(s, "_") || strings.HasSuffix(s, "_") || strings.Contains(s, "__") {
		return 0, false
	}
	s = strings.ReplaceAll(s, "_", "")
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
