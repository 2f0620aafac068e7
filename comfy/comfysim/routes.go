package comfysim

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// routes builds the route table in ComfyUI's order. Every route of the main
// table is also served under /api; /internal routes are not.
func (s *Server) routes() http.Handler {
	rt := &router{}
	get, post := http.MethodGet, http.MethodPost
	rt.handle(get, "/ws", true, s.handleWS)
	rt.handle(get, "/", true, s.handleIndex)
	rt.handle(get, "/embeddings", true, s.handleEmbeddings)
	rt.handle(get, "/models", true, s.handleModels)
	rt.handle(get, "/models/{folder}", true, s.handleModelFolder)
	rt.handle(get, "/extensions", true, s.handleExtensions)
	rt.handle(post, "/upload/image", true, s.handleUploadImage)
	rt.handle(post, "/upload/mask", true, s.handleUploadMask)
	rt.handle(get, "/view", true, s.handleView)
	rt.handle(get, "/view_metadata/{folder_name}", true, s.handleViewMetadata)
	rt.handle(get, "/system_stats", true, s.handleSystemStats)
	rt.handle(get, "/features", true, s.handleFeatures)
	rt.handle(get, "/prompt", true, s.handleGetPrompt)
	rt.handle(get, "/object_info", true, s.handleObjectInfo)
	rt.handle(get, "/object_info/{node_class}", true, s.handleObjectInfoClass)
	rt.handle(get, "/history", true, s.handleGetHistory)
	rt.handle(get, "/history/{prompt_id}", true, s.handleGetHistoryItem)
	rt.handle(get, "/queue", true, s.handleGetQueue)
	rt.handle(post, "/prompt", true, s.handlePostPrompt)
	rt.handle(post, "/queue", true, s.handlePostQueue)
	rt.handle(post, "/interrupt", true, s.handleInterrupt)
	rt.handle(post, "/free", true, s.handleFree)
	rt.handle(post, "/history", true, s.handlePostHistory)
	// Newer servers declare these with an explicit /api prefix, so the
	// prefix loop adds /api/api/... as well.
	rt.handle(get, "/api/jobs", true, s.handleJobs)
	rt.handle(post, "/api/jobs/cancel", true, s.handleCancelJobs)
	rt.handle(get, "/api/jobs/{job_id}", true, s.handleJob)
	rt.handle(post, "/api/jobs/{job_id}/cancel", true, s.handleCancelJob)
	rt.handle(get, "/internal/logs", false, s.handleLogs)
	rt.handle(get, "/internal/logs/raw", false, s.handleLogsRaw)
	rt.handle(http.MethodPatch, "/internal/logs/subscribe", false, s.handleLogsSubscribe)
	rt.handle(get, "/internal/folder_paths", false, s.handleFolderPaths)
	rt.handle(get, "/internal/files/{directory_type}", false, s.handleInternalFiles)
	// Simulator control, not part of ComfyUI.
	rt.handle(get, "/sim/stats", false, s.handleSimStats)
	rt.handle(get, "/sim/faults", false, s.handleGetFaults)
	rt.handle(post, "/sim/faults", false, s.handlePostFaults)
	return s.originCheck(rt)
}

// originCheck is ComfyUI's origin_only_middleware: with both Host and
// Origin present and a loopback Host, a differing Origin host gets an empty
// 403 (WebSocket upgrades included); OPTIONS gets an empty 200.
func (s *Server) originCheck(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origins, ok := r.Header["Origin"]; ok && r.Host != "" && len(origins) > 0 {
			if originRejected(r.Host, origins[0]) {
				s.logf("WARNING: request with non matching host and origin %s != %s, returning 403\n", r.Host, origins[0])
				writeEmpty(w, http.StatusForbidden)
				return
			}
		}
		if r.Method == http.MethodOptions {
			writeEmpty(w, http.StatusOK)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func originRejected(host, origin string) bool {
	host = strings.ToLower(host)
	o, err := url.Parse(origin)
	if err != nil {
		return false
	}
	h, err := url.Parse("//" + host)
	if err != nil {
		return false
	}
	hostDomain, originDomain := host, strings.ToLower(o.Host)
	if o.Port() == "" {
		hostDomain = h.Hostname()
	}
	if h.Port() == "" {
		originDomain = strings.ToLower(o.Hostname())
	}
	if !isLoopback(h.Hostname()) || hostDomain == "" || originDomain == "" {
		return false
	}
	return hostDomain != originDomain
}

// isLoopback is ComfyUI's is_loopback without DNS: IP literals and
// "localhost" (which resolves to loopback everywhere).
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
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
