package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/url"
	"time"

	"github.com/comfygate/comfygate/api"
)

// Upload streams r to the server as an input file (never read whole into
// memory). contentType defaults to application/octet-stream. Pass the
// returned ID as an image parameter.
func (c *Client) Upload(ctx context.Context, r io.Reader, filename, contentType string) (api.Upload, error) {
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	q := url.Values{}
	if filename != "" {
		q.Set("filename", filename)
	}
	req, err := c.newRequest(ctx, "POST", "/v1/uploads", q, r)
	if err != nil {
		return api.Upload{}, err
	}
	req.Header.Set("Content-Type", contentType)
	res, err := c.send(req)
	if err != nil {
		return api.Upload{}, err
	}
	defer res.Body.Close()
	var up api.Upload
	if err := json.NewDecoder(res.Body).Decode(&up); err != nil {
		return api.Upload{}, fmt.Errorf("client: decode upload: %w", err)
	}
	return up, nil
}

// Download is an artifact being read. Close it.
type Download struct {
	io.ReadCloser
	ContentType string
	Size        int64 // -1 when unknown
	Filename    string
}

// DownloadArtifact opens an output or input file for reading.
func (c *Client) DownloadArtifact(ctx context.Context, id string) (*Download, error) {
	req, err := c.newRequest(ctx, "GET", "/v1/artifacts/"+url.PathEscape(id), nil, nil)
	if err != nil {
		return nil, err
	}
	res, err := c.send(req)
	if err != nil {
		return nil, err
	}
	d := &Download{ReadCloser: res.Body, ContentType: res.Header.Get("Content-Type"), Size: res.ContentLength}
	if _, params, err := mime.ParseMediaType(res.Header.Get("Content-Disposition")); err == nil {
		d.Filename = params["filename"]
	}
	return d, nil
}

// LinkArtifact asks for a presigned URL that downloads a stored file
// straight from the S3 artifact store, without an API key, for expires
// (0: the server's default of 15 minutes). A server keeping files on
// local disk answers 409 (code links_unsupported).
func (c *Client) LinkArtifact(ctx context.Context, id string, expires time.Duration) (api.ArtifactLink, error) {
	var q url.Values
	if expires > 0 {
		q = url.Values{"expires": {expires.String()}}
	}
	var out api.ArtifactLink
	_, err := c.call(ctx, "GET", "/v1/artifacts/"+url.PathEscape(id)+"/link", q, nil, nil, &out)
	return out, err
}
