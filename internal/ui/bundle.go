package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// static is the whole UI. Files are served under /ui/v-<version>/, where
// version is a hash of every file, so they can be cached for good; only
// the index, which names the version, is revalidated.
//
//go:embed static
var static embed.FS

const (
	indexName = "index.html"
	// versionMark in index.html is replaced by the asset directory.
	versionMark = "{{ASSETS}}"
	// minGzip is the size under which compressing is not worth a header.
	minGzip = 512
)

// contentTypes are the only kinds of file the bundle may hold: a file of
// another kind is a mistake that loadBundle reports.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".json": "application/json",
}

// asset is one file ready to serve: its bytes, a gzipped copy when that is
// smaller, and validators.
type asset struct {
	name  string
	body  []byte
	gz    []byte // nil when not worth it
	ctype string
	etag  string
}

// bundle is the UI as served: the index and the versioned assets.
type bundle struct {
	version string // "v-" + hash prefix: the asset directory
	index   *asset
	assets  map[string]*asset // by path below static/, e.g. "js/main.js"
}

// loadBundle reads every file below root in fsys, hashes them into the
// version, and fills the version into the index.
func loadBundle(fsys fs.FS, root string) (*bundle, error) {
	files := map[string][]byte{}
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files[strings.TrimPrefix(p, root+"/")] = data
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read ui files: %w", err)
	}
	raw, ok := files[indexName]
	if !ok {
		return nil, fmt.Errorf("ui files: no %s", indexName)
	}
	if !bytes.Contains(raw, []byte(versionMark)) {
		return nil, fmt.Errorf("ui files: %s does not use %s", indexName, versionMark)
	}
	b := &bundle{version: "v-" + versionOf(files), assets: map[string]*asset{}}
	for name, data := range files {
		if name == indexName {
			data = bytes.ReplaceAll(data, []byte(versionMark), []byte(b.version))
		}
		a, err := newAsset(name, data)
		if err != nil {
			return nil, err
		}
		if name == indexName {
			b.index = a
			continue
		}
		b.assets[name] = a
	}
	return b, nil
}

// versionOf hashes names and contents in name order, so any change to any
// file gives every file a new URL.
func versionOf(files map[string][]byte) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(files[n]))
		h.Write(files[n])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func newAsset(name string, data []byte) (*asset, error) {
	ctype, ok := contentTypes[path.Ext(name)]
	if !ok {
		return nil, fmt.Errorf("ui file %s: unknown kind %q", name, path.Ext(name))
	}
	sum := sha256.Sum256(data)
	a := &asset{name: name, body: data, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	if len(data) >= minGzip && !strings.HasPrefix(ctype, "image/png") {
		gz, err := gzipBytes(data)
		if err != nil {
			return nil, fmt.Errorf("ui file %s: %w", name, err)
		}
		if len(gz) < len(data) {
			a.gz = gz
		}
	}
	return a, nil
}

func gzipBytes(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
