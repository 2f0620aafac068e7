package artifact

import (
	"fmt"
	"mime"
	"net/http"
	"path/filepath"
	"strings"
)

const octetStream = "application/octet-stream"

// maxTypeInput bounds a caller-supplied content type.
const maxTypeInput = 200

// normalizeType parses a media type and formats it canonically (lowercase
// type, quoted parameters).
func normalizeType(ct string) (string, error) {
	if len(ct) > maxTypeInput {
		return "", fmt.Errorf("longer than %d bytes", maxTypeInput)
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", fmt.Errorf("%q is not a media type: %w", ct, err)
	}
	out := mime.FormatMediaType(mt, params)
	if out == "" {
		return "", fmt.Errorf("%q is not a media type", ct)
	}
	return out, nil
}

// detectType sniffs the content; when that finds only generic text or
// binary, the name's extension (if the platform knows it) decides: JSON and
// model files sniff as text or binary.
func detectType(head []byte, name string) string {
	sniffed := http.DetectContentType(head)
	if sniffed != octetStream && sniffed != "text/plain; charset=utf-8" {
		return sniffed
	}
	ext := strings.ToLower(filepath.Ext(name))
	if ext == "" {
		return sniffed
	}
	if byExt := mime.TypeByExtension(ext); byExt != "" {
		if ct, err := normalizeType(byExt); err == nil {
			return ct
		}
	}
	return sniffed
}

// inlineTypes are shown in the browser; anything else is downloaded.
var inlineTypes = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
	"image/avif": true, "image/bmp": true,
	"video/mp4": true, "video/webm": true, "video/ogg": true,
	"audio/mpeg": true, "audio/ogg": true, "audio/wav": true, "audio/wave": true,
	"audio/x-wav": true, "audio/webm": true, "audio/flac": true, "audio/mp4": true, "audio/aac": true,
	"text/plain": true, "application/json": true,
}

// servingType decides how a stored type is served. Types a browser would
// run as a page or script on our origin (HTML, SVG, XML, JavaScript) are
// sent as opaque bytes to download, whatever was recorded.
func servingType(stored string) (contentType string, inline bool) {
	mt, _, err := mime.ParseMediaType(stored)
	if err != nil || active(mt) {
		return octetStream, false
	}
	return stored, inlineTypes[mt]
}

// active reports whether browsers execute or render the media type as a
// document that can run script.
func active(mt string) bool {
	switch mt {
	case "text/html", "application/xhtml+xml", "image/svg+xml",
		"text/xml", "application/xml", "text/xsl",
		"text/javascript", "application/javascript", "application/x-javascript",
		"application/ecmascript", "text/ecmascript",
		"multipart/x-mixed-replace":
		return true
	}
	return strings.HasSuffix(mt, "+xml") || strings.Contains(mt, "script")
}
