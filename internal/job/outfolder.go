package job

import "strings"

// Outputs are written on the backend into folders of comfygate's own,
// OutputFolder(key) under ComfyUI's output directory: ComfyUI's save nodes
// list their whole target folder on every save to find the next file
// counter, so a folder shared by every job costs more with each file it
// holds. The dispatcher puts the folder in front of the save nodes'
// filename_prefix when it submits, with a key it derives from the graph
// (see the fleet); callers never see it. An Output keeps the subfolder the
// backend reported (that is where the file is); every surface shows
// ClientSubfolder instead.

// outputRoot is the folder, under a backend's output directory, holding
// the output folders.
const outputRoot = "comfygate"

// OutputKeyLen is the length of an output folder's key: lowercase hex.
const OutputKeyLen = 32

// OutputFolder is the folder, relative to a backend's output directory,
// of the outputs keyed key.
func OutputFolder(key string) string { return outputRoot + "/" + key }

// ClientSubfolder is the subfolder shown to callers for a file that a
// backend reported in subfolder sub: sub without comfygate's output folder
// ("comfygate/<key>"), so the caller sees the folder its graph asked for.
// A backend on Windows reports the folder with backslashes.
func ClientSubfolder(sub string) string {
	n := len(outputRoot) + 1 + OutputKeyLen
	if len(sub) < n || sub[:len(outputRoot)] != outputRoot || !isSep(sub[len(outputRoot)]) ||
		!IsOutputKey(sub[len(outputRoot)+1:n]) {
		return sub
	}
	switch {
	case len(sub) == n:
		return ""
	case isSep(sub[n]):
		return sub[n+1:]
	}
	return sub // another folder whose name merely starts the same
}

func isSep(c byte) bool { return c == '/' || c == '\\' }

// IsOutputKey reports whether s has the shape of an output folder's key.
func IsOutputKey(s string) bool {
	return len(s) == OutputKeyLen && strings.Trim(s, "0123456789abcdef") == ""
}
