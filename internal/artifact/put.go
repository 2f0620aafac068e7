package artifact

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// sniffLen is how much content http.DetectContentType looks at.
const sniffLen = 512

// copyBufs recycles copy buffers: Put would otherwise allocate one per call.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// Put implements Store: it streams r to a temp file while hashing it, then
// links the file into place under its hash. A temp file never outlives a
// failed Put.
func (l *Local) Put(ctx context.Context, r io.Reader, opts PutOptions) (Info, error) {
	limit, ct, err := checkPut(opts, l.maxSize)
	if err != nil {
		return Info{}, err
	}
	if l.inlineMax > 0 {
		bufp := l.heads.Get().(*[]byte)
		defer l.heads.Put(bufp)
		head, small, err := readHead(ctx, r, (*bufp)[:min(l.inlineMax, limit)+1])
		switch {
		case err != nil:
			return Info{}, fmt.Errorf("put artifact: %w", err)
		case int64(len(head)) > limit:
			return Info{}, fmt.Errorf("put artifact: %w", &TooLargeError{Limit: limit})
		case small:
			return l.putInline(ctx, head, ct, opts.Name)
		}
		r = io.MultiReader(bytes.NewReader(head), r) // too big for a row: a file
	}
	f, err := os.CreateTemp(l.tmp, "put-*")
	if err != nil {
		return Info{}, fmt.Errorf("put artifact: %w", err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name()) // after a successful link the blob keeps its own name
	}()
	head, size, sum, err := copyHashed(ctx, f, r, limit)
	if err != nil {
		return Info{}, fmt.Errorf("put artifact: %w", err)
	}
	if ct == "" {
		ct = detectType(head, opts.Name)
	}
	typed := l.typeOnFile(f.Name(), ct)
	if err := f.Sync(); err != nil { // the content, and the type on the file
		return Info{}, fmt.Errorf("put artifact: %w", err)
	}
	info := Info{ID: sum, Size: size, ContentType: ct}
	if err := l.commit(f.Name(), &info, typed); err != nil {
		return Info{}, fmt.Errorf("put artifact %s: %w", sum, err)
	}
	return info, nil
}

// readHead reads r until buf is full or r ends: small reports that r ended
// within buf, so head is all of the content.
func readHead(ctx context.Context, r io.Reader, buf []byte) (head []byte, small bool, err error) {
	n, err := io.ReadFull(&ctxReader{ctx: ctx, r: r}, buf)
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return buf[:n], true, nil
	case err != nil:
		return nil, false, err
	}
	return buf[:n], false, nil
}

// putInline stores content that fits a row of the small blobs' database.
// Content stored earlier as a file stays there.
func (l *Local) putInline(ctx context.Context, content []byte, ct, name string) (Info, error) {
	sum := sha256.Sum256(content)
	info := Info{ID: hex.EncodeToString(sum[:]), Size: int64(len(content)), ContentType: ct}
	if ct == "" {
		info.ContentType = detectType(content[:min(len(content), sniffLen)], name)
	}
	p := l.path(info.ID)
	if st, err := os.Stat(p); err == nil && st.Size() == info.Size {
		info.ContentType = l.readType(p)
		return info, nil
	}
	if err := l.inline.put(ctx, &info, content); err != nil {
		return Info{}, fmt.Errorf("put artifact %s: %w", info.ID, err)
	}
	return info, nil
}

// checkPut validates opts, returning the size limit (opts.MaxSize, else the
// store's storeMax) and the normalised content type ("" to detect).
func checkPut(opts PutOptions, storeMax int64) (limit int64, contentType string, err error) {
	if opts.MaxSize < 0 {
		return 0, "", fmt.Errorf("put artifact: MaxSize %d is negative", opts.MaxSize)
	}
	limit = cmp.Or(opts.MaxSize, storeMax)
	if opts.ContentType != "" {
		if contentType, err = normalizeType(opts.ContentType); err != nil {
			return 0, "", fmt.Errorf("put artifact: ContentType: %w", err)
		}
	}
	return limit, contentType, nil
}

// copyHashed copies at most limit bytes of r to w, returning the first
// sniffLen bytes, the size and the hex SHA-256. More than limit bytes is a
// *TooLargeError.
func copyHashed(ctx context.Context, w io.Writer, r io.Reader, limit int64) (head []byte, size int64, sum string, err error) {
	h := sha256.New()
	bufp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bufp)
	src := io.LimitReader(&ctxReader{ctx: ctx, r: r}, limit+1)
	n, err := io.CopyBuffer(io.MultiWriter(w, h, &headWriter{max: sniffLen, buf: &head}), src, *bufp)
	if err != nil {
		return nil, 0, "", err
	}
	if n > limit {
		return nil, 0, "", &TooLargeError{Limit: limit}
	}
	return head, n, hex.EncodeToString(h.Sum(nil)), nil
}

// headWriter keeps the first max bytes written to it.
type headWriter struct {
	max int
	buf *[]byte
}

func (hw *headWriter) Write(p []byte) (int, error) {
	if room := hw.max - len(*hw.buf); room > 0 {
		*hw.buf = append(*hw.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// ctxReader stops a long copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// typeOnFile records ct as an attribute of the temp file at name, and
// reports whether it did; if not, commit writes a sidecar.
func (l *Local) typeOnFile(name, ct string) bool {
	if l.noAttrs.Load() {
		return false
	}
	err := setTypeAttr(name, ct)
	if errors.Is(err, errNoAttrs) {
		l.noAttrs.Store(true)
		l.log.Info("artifact: no extended attributes here; content types go to sidecar files", "dir", l.dir)
	}
	return err == nil
}

// commit publishes the temp file under info.ID. Unless the temp file
// carries its content type (typed), the sidecar goes first, so a visible
// blob always has one. If the content is already stored, the existing
// blob and its recorded type win: info is updated.
func (l *Local) commit(tmpName string, info *Info, typed bool) error {
	final := l.path(info.ID)
	if err := l.makeDirs(filepath.Dir(final)); err != nil {
		return err
	}
	if !typed {
		if err := l.writeSidecar(final, info.ContentType); err != nil {
			return err
		}
	}
	err := os.Link(tmpName, final)
	switch {
	case err == nil:
		return syncDir(filepath.Dir(final))
	case errors.Is(err, fs.ErrExist):
		return l.adopt(tmpName, final, info)
	default:
		// No hard links here (some network and FUSE filesystems): rename
		// is atomic too, and replacing equal content is harmless.
		if err := os.Rename(tmpName, final); err != nil {
			return err
		}
		return syncDir(filepath.Dir(final))
	}
}

// adopt settles on the blob already at final. A size mismatch means a
// damaged copy (content-addressed files never change), which the fresh
// temp file replaces.
func (l *Local) adopt(tmpName, final string, info *Info) error {
	st, err := os.Stat(final)
	if err != nil {
		return err
	}
	if st.Size() != info.Size {
		l.log.Warn("artifact: replacing damaged blob", "id", info.ID, "size", st.Size(), "want", info.Size)
		if err := os.Rename(tmpName, final); err != nil {
			return err
		}
	}
	info.ContentType = l.readType(final)
	return nil
}

// writeSidecar records the content type unless one is recorded already.
func (l *Local) writeSidecar(blobPath, contentType string) error {
	f, err := os.CreateTemp(l.tmp, "type-*")
	if err != nil {
		return err
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	if _, err := f.WriteString(contentType + "\n"); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	err = os.Link(f.Name(), sidecarPath(blobPath))
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return os.Rename(f.Name(), sidecarPath(blobPath))
	}
	return nil
}

// makeDirs creates the blob's directory when it is missing, and makes the
// new directories' own entries durable too (syncing the blob's directory
// alone would not keep a directory created just now).
func (l *Local) makeDirs(dir string) error {
	if _, err := os.Stat(dir); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		if err := syncDir(d); err != nil {
			return err
		}
		if d == l.dir || d == filepath.Dir(d) {
			return nil
		}
	}
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
