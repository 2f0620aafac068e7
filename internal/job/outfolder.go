package job

import "strings"

// Each job's output files are written on the backend into a folder of
// their own, OutputFolder(id) under ComfyUI's output directory: ComfyUI's
// save nodes list their whole target folder on every save to find the next
// file counter, so a folder shared by every job costs more with each file
// it holds. The dispatcher puts the folder in front of the save nodes'
// filename_prefix when it submits; callers never see it. An Output keeps
// the subfolder the backend reported (that is where the file is); every
// surface shows ClientSubfolder instead.

// outputRoot is the folder, under a backend's output directory, holding
// the jobs' folders.
const outputRoot = "comfygate"

// OutputFolder is the folder, relative to a backend's output directory,
// where the backend writes the files of job id.
func OutputFolder(id string) string { return outputRoot + "/" + id }

// ClientSubfolder is the subfolder shown to callers for a file that the
// backend reported in subfolder sub for job id: sub without the job's own
// folder, so the caller sees the folder its graph asked for. A backend on
// Windows reports the folder with backslashes.
func ClientSubfolder(id, sub string) string {
	folder := OutputFolder(id)
	if len(sub) < len(folder) || strings.ReplaceAll(sub[:len(folder)], `\`, "/") != folder {
		return sub
	}
	rest := sub[len(folder):]
	switch {
	case rest == "":
		return ""
	case rest[0] == '/' || rest[0] == '\\':
		return rest[1:]
	}
	return sub // another folder whose name merely starts the same
}
