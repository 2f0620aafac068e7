// Package client is the Go SDK of comfygate's native REST API.
//
// It speaks the wire types of package api, which the server shares, and
// nothing else: no server code is linked into programs that use it. Every
// call takes a context first; the *http.Client is injectable; failures the
// server reports come back as *Error with the stable code and the field
// that was wrong. Events follows a job over Server-Sent Events and resumes
// by itself after a dropped connection, so a caller sees each event once,
// in order.
package client
