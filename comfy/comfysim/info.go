package comfysim

import (
	"bufio"
	"cmp"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/internal/comfywire"
)

// The system_stats strings of the captured 0.3.64 CPU server.
const (
	comfyUIVersion           = "0.3.64"
	requiredFrontendVersion  = "1.27.10"
	requiredTemplatesVersion = "0.1.95"
	pythonVersion            = "3.11.2 (main, Apr 28 2025, 14:11:48) [GCC 12.2.0]"
	pytorchVersion           = "1.13.0a0"
)

func (s *Server) handleSystemStats(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	total, free := memInfo()
	templates := requiredTemplatesVersion
	writeJSON(w, http.StatusOK, comfy.SystemStats{
		System: comfy.SystemInfo{
			OS: "posix", RAMTotal: total, RAMFree: free,
			ComfyUIVersion:           comfyUIVersion,
			RequiredFrontendVersion:  requiredFrontendVersion,
			RequiredTemplatesVersion: &templates,
			PythonVersion:            pythonVersion,
			PytorchVersion:           pytorchVersion,
			Argv:                     s.opts.Argv,
		},
		Devices: []comfy.Device{{
			Name: "cpu", Type: "cpu", VRAMTotal: total, VRAMFree: free,
			TorchVRAMTotal: total, TorchVRAMFree: free,
		}},
	})
}

// memInfo reads MemTotal and MemAvailable (bytes); fixed values elsewhere.
func memInfo() (total, free int64) {
	total, free = 16<<30, 12<<30
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return total, free
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			continue
		}
		switch fields[0] {
		case "MemTotal:":
			total = kb * 1024
		case "MemAvailable:":
			free = kb * 1024
		}
	}
	return total, free
}

func (s *Server) handleEmbeddings(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	names := []string{}
	for _, e := range s.modelList("embeddings") {
		base, _ := pySplitext(e)
		names = append(names, base)
	}
	writeJSON(w, http.StatusOK, names)
}

func (s *Server) handleModels(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	writeJSON(w, http.StatusOK, modelFolders)
}

func (s *Server) handleModelFolder(w http.ResponseWriter, _ *http.Request, p map[string]string) {
	folder := p["folder"]
	if !slices.Contains(modelFolders, folder) {
		comfywire.WriteEmpty(w, http.StatusNotFound)
		return
	}
	writeJSON(w, http.StatusOK, s.modelList(folder))
}

func (s *Server) handleExtensions(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	writeJSON(w, http.StatusOK, []string{})
}

// handleViewMetadata is GET /view_metadata/{folder}: the simulated model
// files have no safetensors header, which ComfyUI answers with 404.
func (s *Server) handleViewMetadata(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	comfywire.WriteEmpty(w, http.StatusNotFound)
}

func (s *Server) handleFolderPaths(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	out := comfyjson.Object{}
	for _, f := range modelFolders {
		out = append(out, comfyjson.Member{Key: f, Value: []string{filepath.Join(s.dataDir, "models", f)}})
	}
	writeJSON(w, http.StatusOK, out)
}

// handleInternalFiles is GET /internal/files/{directory_type}: top-level
// file names, newest first.
func (s *Server) handleInternalFiles(w http.ResponseWriter, _ *http.Request, p map[string]string) {
	kind := p["directory_type"]
	if kind != "output" && kind != "input" && kind != "temp" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Invalid directory type"})
		return
	}
	entries, err := os.ReadDir(s.dir(kind))
	if err != nil {
		writeJSON(w, http.StatusOK, []string{})
		return
	}
	type file struct {
		name  string
		mtime int64
	}
	var files []file
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		files = append(files, file{e.Name(), info.ModTime().UnixNano()})
	}
	slices.SortStableFunc(files, func(a, b file) int { return cmp.Compare(b.mtime, a.mtime) })
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.name
	}
	writeJSON(w, http.StatusOK, names)
}
