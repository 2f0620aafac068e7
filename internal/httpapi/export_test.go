package httpapi

// RoutePatterns lists the router's patterns, so the external tests can
// check that each one is documented.
func RoutePatterns(s *Server) []string {
	var out []string
	for _, rt := range s.routes() {
		out = append(out, rt.pattern)
	}
	return out
}
