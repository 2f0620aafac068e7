package comfy

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// recordedRequest is what the fake server saw.
type recordedRequest struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
	// Form holds multipart text fields; Files holds file parts by field name.
	Form  map[string]string
	Files map[string]recordedFile
}

type recordedFile struct {
	Filename    string
	ContentType string
	Data        []byte
}

// fakeComfy answers every request with one captured response, byte for byte,
// and records the requests. It fails the test on any Origin header.
type fakeComfy struct {
	tb  testing.TB
	srv *httptest.Server

	mu   sync.Mutex // guards the fields below
	resp capturedResponse
	reqs []recordedRequest
}

func newFakeComfy(tb testing.TB) *fakeComfy {
	tb.Helper()
	f := &fakeComfy{tb: tb}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.srv.Close)
	return f
}

// client returns a client of the fake with the given options.
func (f *fakeComfy) client(opts ...Option) *Client {
	f.tb.Helper()
	c, err := NewClient(f.srv.URL, append([]Option{WithHTTPClient(f.srv.Client())}, opts...)...)
	if err != nil {
		f.tb.Fatal(err)
	}
	return c
}

func (f *fakeComfy) respond(r capturedResponse) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resp = r
	f.reqs = nil
}

func (f *fakeComfy) requests() []recordedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recordedRequest(nil), f.reqs...)
}

// lastRequest returns the only request since respond.
func (f *fakeComfy) lastRequest() recordedRequest {
	f.tb.Helper()
	reqs := f.requests()
	if len(reqs) != 1 {
		f.tb.Fatalf("fake saw %d requests, want 1", len(reqs))
	}
	return reqs[0]
}

func (f *fakeComfy) serve(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" {
		f.tb.Errorf("request %s %s carried Origin %q", r.Method, r.URL.Path, o)
	}
	rec := recordedRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone()}
	if mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		rec.Form, rec.Files = readMultipart(f.tb, r.Body, params["boundary"])
	} else {
		rec.Body, _ = io.ReadAll(r.Body)
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, rec)
	resp := f.resp
	f.mu.Unlock()
	if resp.ContentType != "" {
		w.Header().Set("Content-Type", resp.ContentType)
	}
	w.WriteHeader(resp.Status)
	w.Write(resp.Body)
}

func readMultipart(tb testing.TB, body io.Reader, boundary string) (map[string]string, map[string]recordedFile) {
	form, files := map[string]string{}, map[string]recordedFile{}
	mr := multipart.NewReader(body, boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return form, files
		}
		if err != nil { // a client that aborts an upload leaves a broken body
			tb.Logf("multipart: %v", err)
			return form, files
		}
		data, _ := io.ReadAll(p)
		if p.FileName() != "" {
			files[p.FormName()] = recordedFile{Filename: p.FileName(), ContentType: p.Header.Get("Content-Type"), Data: data}
		} else {
			form[p.FormName()] = string(data)
		}
	}
}

// testCtx is a context bounded by the test's deadline (no timing assertion:
// the bound only stops a hung test).
func testCtx(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	tb.Cleanup(cancel)
	return ctx
}

func bodyOf(r recordedRequest) string { return string(bytes.TrimSpace(r.Body)) }
