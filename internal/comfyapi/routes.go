package comfyapi

import "net/http"

// routes is ComfyUI's route table as this surface serves it; each route is
// also served under /api/. Paths it does not know go to the proxy.
func (h *Handler) routes() *router {
	rt := newRouter(h, h.proxy)
	get, post := http.MethodGet, http.MethodPost
	rt.handle(get, "/ws", h.serveWS)
	rt.handle(get, "/embeddings", h.listRoute("/embeddings"))
	rt.handle(get, "/models", h.listRoute("/models"))
	rt.handle(get, "/models/{folder}", h.listRoute("/models/"))
	rt.handle(get, "/extensions", h.listRoute("/extensions"))
	rt.handle(post, "/upload/image", h.uploadImage)
	rt.handle(post, "/upload/mask", h.uploadMask)
	rt.handle(get, "/view", h.view)
	rt.handle(get, "/system_stats", h.getSystemStats)
	rt.handle(get, "/features", h.getFeatures)
	rt.handle(get, "/prompt", h.getPrompt)
	rt.handle(get, "/object_info", h.getObjectInfo)
	rt.handle(get, "/object_info/{node_class}", h.getObjectInfoClass)
	rt.handle(get, "/history", h.getHistory)
	rt.handle(get, "/history/{prompt_id}", h.getHistoryItem)
	rt.handle(get, "/queue", h.getQueue)
	rt.handle(post, "/prompt", h.postPrompt)
	rt.handle(post, "/queue", h.postQueue)
	rt.handle(post, "/interrupt", h.postInterrupt)
	rt.handle(post, "/free", h.postFree)
	rt.handle(post, "/history", h.postHistory)
	// Newer ComfyUI declares the jobs routes with their /api prefix.
	rt.handle(get, "/api/jobs", h.listJobsAPI)
	rt.handle(post, "/api/jobs/cancel", h.cancelJobsAPI)
	rt.handle(get, "/api/jobs/{job_id}", h.getJobAPI)
	rt.handle(post, "/api/jobs/{job_id}/cancel", h.cancelJobAPI)
	return rt
}
