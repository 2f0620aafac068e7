package comfy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"path"
	"strings"
)

// ViewOptions are the optional parameters of GET /view.
type ViewOptions struct {
	// Preview re-encodes an image, e.g. "webp;90" or "jpeg;75".
	Preview string
	// Channel "rgb" or "a" returns a PNG of those channels; empty returns the
	// raw file.
	Channel string
	// Range is sent as the Range header (e.g. "bytes=0-1023"); the server then
	// answers 206 with part of the file.
	Range string
}

// ViewResponse is a file being streamed from GET /view. The caller must close
// Body.
type ViewResponse struct {
	Body          io.ReadCloser
	ContentType   string
	ContentLength int64 // -1 when unknown
	// Status is 200, or 206 for a ranged answer.
	Status int
	Header http.Header
}

// View opens a file from the server's output, input or temp directory. Pass
// filename, subfolder and type exactly as they appear in a node output (the
// server's default type is "output"). The body is streamed, never buffered. A
// missing file is an *HTTPError matching ErrNotFound.
func (c *Client) View(ctx context.Context, ref FileRef, opts ViewOptions) (*ViewResponse, error) {
	if ref.Filename == "" {
		return nil, fmt.Errorf("view: empty filename")
	}
	q := url.Values{"filename": {ref.Filename}}
	if ref.Subfolder != "" {
		q.Set("subfolder", ref.Subfolder)
	}
	if ref.Type != "" {
		q.Set("type", ref.Type)
	}
	if opts.Preview != "" {
		q.Set("preview", opts.Preview)
	}
	if opts.Channel != "" {
		q.Set("channel", opts.Channel)
	}
	r := request{method: http.MethodGet, route: "/view", query: q}
	if opts.Range != "" {
		r.header = http.Header{"Range": {opts.Range}}
	}
	resp, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		defer resp.Body.Close()
		return nil, httpError(r, resp)
	}
	return &ViewResponse{
		Body:          resp.Body,
		ContentType:   resp.Header.Get("Content-Type"),
		ContentLength: resp.ContentLength,
		Status:        resp.StatusCode,
		Header:        resp.Header,
	}, nil
}

// Upload is a file to send to POST /upload/image or /upload/mask.
type Upload struct {
	// Name is the file name to store (the multipart filename).
	Name string
	// Body is streamed to the server; it is not closed.
	Body io.Reader
	// ContentType of the part; guessed from Name when empty.
	ContentType string
	// Type is "input" (the server's default when empty), "temp" or "output".
	Type      string
	Subfolder string
	// Overwrite replaces an existing file of the same name. Without it the
	// server reuses an identical file or picks "name (1).ext".
	Overwrite bool
	// Size, when > 0, is the exact length of Body. The request then carries
	// a Content-Length instead of chunked encoding (some proxies need it);
	// a Body of another length fails the upload.
	Size int64
}

// UploadImage uploads a file (POST /upload/image). The multipart body is
// streamed through a pipe, so large files are never held in memory.
func (c *Client) UploadImage(ctx context.Context, u Upload) (UploadResult, error) {
	return c.upload(ctx, "/upload/image", u, nil)
}

// UploadMask uploads a mask that the server applies as the alpha channel of
// the image original (POST /upload/mask). The server ignores most problems
// with original and still answers 200.
func (c *Client) UploadMask(ctx context.Context, u Upload, original FileRef) (UploadResult, error) {
	ref, err := json.Marshal(original)
	if err != nil {
		return UploadResult{}, fmt.Errorf("upload mask: %w", err)
	}
	return c.upload(ctx, "/upload/mask", u, ref)
}

func (c *Client) upload(ctx context.Context, route string, u Upload, originalRef []byte) (UploadResult, error) {
	if u.Name == "" || u.Body == nil {
		return UploadResult{}, fmt.Errorf("POST %s: upload needs a name and a body", route)
	}
	if strings.ContainsAny(u.Name, "\r\n\x00") {
		return UploadResult{}, fmt.Errorf("POST %s: upload name %q contains a control character", route, u.Name)
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	var length int64
	if u.Size > 0 {
		overhead, err := multipartOverhead(mw.Boundary(), u, originalRef)
		if err != nil {
			return UploadResult{}, fmt.Errorf("POST %s: %w", route, err)
		}
		length = overhead + u.Size
	}
	done := make(chan struct{})
	var werr error // the writer's verdict; read after done
	go func() {
		defer close(done)
		werr = writeUpload(mw, u, originalRef)
		pw.CloseWithError(werr)
	}()
	var out UploadResult
	r := request{method: http.MethodPost, route: route, body: pr, length: length, ctype: mw.FormDataContentType()}
	err := c.callJSON(ctx, r, &out)
	// The transport may stop reading early (error answer, cancelled ctx);
	// unblock the writer and wait for it so the goroutine never outlives us.
	pr.CloseWithError(io.ErrClosedPipe)
	<-done
	// A body that did not match Size is an error even if the server,
	// having read the declared length, answered 200.
	if werr != nil && !errors.Is(werr, io.ErrClosedPipe) {
		return UploadResult{}, fmt.Errorf("POST %s: %w", route, werr)
	}
	if err != nil {
		return UploadResult{}, err
	}
	return out, nil
}

func writeUpload(mw *multipart.Writer, u Upload, originalRef []byte) error {
	fields := [][2]string{}
	if u.Type != "" {
		fields = append(fields, [2]string{"type", u.Type})
	}
	if u.Subfolder != "" {
		fields = append(fields, [2]string{"subfolder", u.Subfolder})
	}
	if u.Overwrite {
		fields = append(fields, [2]string{"overwrite", "true"})
	}
	if originalRef != nil {
		fields = append(fields, [2]string{"original_ref", string(originalRef)})
	}
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return err
		}
	}
	part, err := mw.CreatePart(filePartHeader(u))
	if err != nil {
		return err
	}
	if err := copyBody(part, u); err != nil {
		return fmt.Errorf("upload %s: %w", u.Name, err)
	}
	return mw.Close()
}

// copyBody copies the file; with a Size it copies exactly that many bytes
// and fails when the body is shorter or longer, since the request's
// Content-Length was computed from it.
func copyBody(dst io.Writer, u Upload) error {
	if u.Size <= 0 {
		_, err := io.Copy(dst, u.Body)
		return err
	}
	n, err := io.CopyN(dst, u.Body, u.Size)
	if err == io.EOF {
		return fmt.Errorf("body has %d bytes, Size says %d", n, u.Size)
	}
	if err != nil {
		return err
	}
	var one [1]byte
	if k, _ := io.ReadFull(u.Body, one[:]); k > 0 {
		return fmt.Errorf("body is longer than Size (%d bytes)", u.Size)
	}
	return nil
}

// multipartOverhead is the length of the multipart body without the file's
// bytes: the same parts written with an empty file.
func multipartOverhead(boundary string, u Upload, originalRef []byte) (int64, error) {
	var cw countingWriter
	mw := multipart.NewWriter(&cw)
	if err := mw.SetBoundary(boundary); err != nil {
		return 0, err
	}
	u.Body, u.Size = strings.NewReader(""), 0
	if err := writeUpload(mw, u, originalRef); err != nil {
		return 0, err
	}
	return cw.n, nil
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

func filePartHeader(u Upload) textproto.MIMEHeader {
	ct := u.ContentType
	if ct == "" {
		ct = mime.TypeByExtension(strings.ToLower(path.Ext(u.Name)))
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="image"; filename="`+quoteEscaper.Replace(u.Name)+`"`)
	h.Set("Content-Type", ct)
	return h
}

// quoteEscaper escapes a multipart filename the way mime/multipart does.
var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"")
