// Package httpapi is the transport of comfygate's native REST API: it turns
// HTTP requests, SSE and WebSocket streams into calls of a Service and the
// answers back into the wire types of package api.
//
// It exists apart from the use cases (package gateway) so that the rules of
// the product are written once and this package stays a translation: route
// patterns, parameter parsing that names the offending field, one table from
// errors to status codes, authentication, limits, metrics and the generated
// OpenAPI document. Handlers return errors and are adapted once, so no
// handler writes an error body by hand.
package httpapi
