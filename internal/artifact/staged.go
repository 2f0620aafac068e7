package artifact

import (
	"mime"
	"regexp"
	"strings"
)

// StagedPrefix is the subfolder of a backend's input directory that holds
// the inputs comfygate stages there. A staged name is
// "comfygate/<sha256>.<ext>": the graph itself says which blob each input
// needs, so the fleet can upload it to whichever backend a job lands on,
// just before dispatch. The gateway and the ComfyUI-compatible surface write
// such names; the fleet reads them.
const StagedPrefix = "comfygate/"

var (
	stagedName = regexp.MustCompile(`^comfygate/([0-9a-f]{64})\.([A-Za-z0-9]{1,10})$`)
	stagedExt  = regexp.MustCompile(`^[A-Za-z0-9]{1,10}$`)
)

// StagedName is the backend input name of blob id with the given content
// type.
func StagedName(id, contentType string) string {
	return StagedPrefix + id + "." + Ext(contentType)
}

// ParseStaged splits a staged name into the blob id and extension; ok is
// false for any other value.
func ParseStaged(name string) (id, ext string, ok bool) {
	m := stagedName.FindStringSubmatch(name)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// Ext picks a file extension for a content type. ComfyUI's loaders look at
// the bytes, so it only needs to be plausible — and always one a staged
// name accepts.
func Ext(contentType string) string {
	switch contentType {
	case "image/png":
		return "png"
	case "image/jpeg":
		return "jpg"
	case "image/webp":
		return "webp"
	case "image/gif":
		return "gif"
	}
	if exts, _ := mime.ExtensionsByType(contentType); len(exts) > 0 {
		if e := strings.TrimPrefix(exts[0], "."); stagedExt.MatchString(e) {
			return e
		}
	}
	return "bin"
}
