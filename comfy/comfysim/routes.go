package comfysim

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/comfygate/comfygate/internal/comfywire"
)

// routes builds the route table in ComfyUI's order. Every route of the main
// table is also served under /api; /internal routes are not.
func (s *Server) routes() http.Handler {
	rt := &comfywire.Router{}
	get, post := http.MethodGet, http.MethodPost
	rt.HandleAPI(get, "/ws", s.handleWS)
	rt.HandleAPI(get, "/", s.handleIndex)
	rt.HandleAPI(get, "/embeddings", s.handleEmbeddings)
	rt.HandleAPI(get, "/models", s.handleModels)
	rt.HandleAPI(get, "/models/{folder}", s.handleModelFolder)
	rt.HandleAPI(get, "/extensions", s.handleExtensions)
	rt.HandleAPI(post, "/upload/image", s.handleUploadImage)
	rt.HandleAPI(post, "/upload/mask", s.handleUploadMask)
	rt.HandleAPI(get, "/view", s.handleView)
	rt.HandleAPI(get, "/view_metadata/{folder_name}", s.handleViewMetadata)
	rt.HandleAPI(get, "/system_stats", s.handleSystemStats)
	rt.HandleAPI(get, "/features", s.handleFeatures)
	rt.HandleAPI(get, "/prompt", s.handleGetPrompt)
	rt.HandleAPI(get, "/object_info", s.handleObjectInfo)
	rt.HandleAPI(get, "/object_info/{node_class}", s.handleObjectInfoClass)
	rt.HandleAPI(get, "/history", s.handleGetHistory)
	rt.HandleAPI(get, "/history/{prompt_id}", s.handleGetHistoryItem)
	rt.HandleAPI(get, "/queue", s.handleGetQueue)
	rt.HandleAPI(post, "/prompt", s.handlePostPrompt)
	rt.HandleAPI(post, "/queue", s.handlePostQueue)
	rt.HandleAPI(post, "/interrupt", s.handleInterrupt)
	rt.HandleAPI(post, "/free", s.handleFree)
	rt.HandleAPI(post, "/history", s.handlePostHistory)
	// Newer servers declare these with an explicit /api prefix, so the
	// prefix loop adds /api/api/... as well.
	rt.HandleAPI(get, "/api/jobs", s.handleJobs)
	rt.HandleAPI(post, "/api/jobs/cancel", s.handleCancelJobs)
	rt.HandleAPI(get, "/api/jobs/{job_id}", s.handleJob)
	rt.HandleAPI(post, "/api/jobs/{job_id}/cancel", s.handleCancelJob)
	rt.Handle(get, "/internal/logs", s.handleLogs)
	rt.Handle(get, "/internal/logs/raw", s.handleLogsRaw)
	rt.Handle(http.MethodPatch, "/internal/logs/subscribe", s.handleLogsSubscribe)
	rt.Handle(get, "/internal/folder_paths", s.handleFolderPaths)
	rt.Handle(get, "/internal/files/{directory_type}", s.handleInternalFiles)
	// Simulator control, not part of ComfyUI.
	rt.Handle(get, "/sim/stats", s.handleSimStats)
	rt.Handle(get, "/sim/faults", s.handleGetFaults)
	rt.Handle(post, "/sim/faults", s.handlePostFaults)
	return s.limitBodies(comfywire.OriginOnly(rt, func(r *http.Request, origin string) {
		s.logf("WARNING: request with non matching host and origin %s != %s, returning 403\n", r.Host, origin)
	}))
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	const page = "<!doctype html><title>ComfyUI (simulator)</title><p>comfysim: a ComfyUI-compatible API server. There is no front end.</p>\n"
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "0")
	h.Set("Content-Type", "text/html")
	// aiohttp serves index.html as a FileResponse.
	h.Set("Etag", fmt.Sprintf(`"%x-%x"`, s.started.UnixNano(), len(page)))
	http.ServeContent(w, r, "index.html", s.started, strings.NewReader(page))
}
