package artifact

import (
	"io"
	"mime"
	"net/http"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Serve writes the blob as an HTTP response: Range and conditional requests
// via http.ServeContent (the strong ETag is the content hash), a
// Content-Disposition carrying a sanitised file name, and headers that stop
// browsers from running stored content as a page on our origin. It streams;
// it never reads the whole blob into memory. name is a download name hint
// (e.g. ComfyUI's filename); it may be empty.
func Serve(w http.ResponseWriter, r *http.Request, b Blob, name string) {
	info := b.Info()
	ct, inline := servingType(info.ContentType)
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+info.ID+`"`)
	if h.Get("Cache-Control") == "" {
		// Content under an ID never changes; "private" since access is per key.
		h.Set("Cache-Control", "private, max-age=31536000, immutable")
	}
	h.Set("Content-Disposition", disposition(inline, SafeFilename(name, info.ID)))
	http.ServeContent(w, r, "", b.ModTime(), content(b))
}

// content unwraps a local file so net/http can stream it with sendfile(2).
func content(b Blob) io.ReadSeeker {
	if f, ok := b.(interface{ osFile() *os.File }); ok {
		return f.osFile()
	}
	return b
}

func disposition(inline bool, filename string) string {
	kind := "attachment"
	if inline {
		kind = "inline"
	}
	if d := mime.FormatMediaType(kind, map[string]string{"filename": filename}); d != "" {
		return d
	}
	return kind
}

// maxFilenameLen bounds a served file name in bytes; most filesystems stop
// at 255.
const maxFilenameLen = 200

// SafeFilename turns a user- or backend-supplied name into a download name:
// its last path element, without control or bidi-override characters
// (which can disguise "evil.exe" as "exe.png"), quotes, leading dots or
// invalid UTF-8, at most 200 bytes with the extension kept. An empty result
// becomes "artifact-<first 12 digits of id>".
func SafeFilename(name, id string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.ToValidUTF8(name, "_")
	name = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r), r == '"':
			return -1
		case unicode.IsSpace(r):
			return ' '
		}
		return r
	}, name)
	name = strings.Trim(name, ". ") // no hidden files; Windows drops trailing dots
	if len(name) > maxFilenameLen {
		name = shorten(name, maxFilenameLen)
	}
	if name == "" {
		return "artifact-" + id[:min(12, len(id))]
	}
	return name
}

// shorten cuts the stem so that name fits n bytes, keeping a short extension
// and whole runes.
func shorten(name string, n int) string {
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= 16 {
		name, ext = name[:i], name[i:]
	}
	stem := name[:n-len(ext)]
	for len(stem) > 0 && !utf8.ValidString(stem) {
		stem = stem[:len(stem)-1]
	}
	return stem + ext
}
