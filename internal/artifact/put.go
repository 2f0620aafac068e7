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
	"slices"
	"sync"
)

// sniffLen is how much content http.DetectContentType looks at.
const sniffLen = 512

// copyBufs recycles copy buffers: Put would otherwise allocate one per call.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// Put implements Store: a small blob is appended to a pack (see packs);
// a larger one is streamed to a temp file while hashed, then linked into
// place under its hash. A temp file never outlives a failed Put.
func (l *Local) Put(ctx context.Context, r io.Reader, opts PutOptions) (Info, error) {
	limit, ct, err := checkPut(opts, l.maxSize)
	if err != nil {
		return Info{}, err
	}
	if l.closed.Load() {
		return Info{}, fmt.Errorf("put artifact: %w", errStoreClosed)
	}
	if l.packs != nil {
		buf, whole, err := readSmall(ctx, r, min(l.smallMax, limit))
		defer releaseSmall(buf)
		switch {
		case err != nil:
			return Info{}, fmt.Errorf("put artifact: %w", err)
		case whole:
			return l.putSmall(buf, ct, opts.Name)
		case int64(len(buf)-recHeaderLen) > limit:
			return Info{}, fmt.Errorf("put artifact: %w", &TooLargeError{Limit: limit})
		}
		r = io.MultiReader(bytes.NewReader(buf[recHeaderLen:]), r) // too big for a pack
	}
	return l.putFile(ctx, r, limit, ct, opts.Name)
}

// putFile stores r as a blob file of its own.
func (l *Local) putFile(ctx context.Context, r io.Reader, limit int64, ct, name string) (Info, error) {
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
	if err := f.Sync(); err != nil {
		return Info{}, fmt.Errorf("put artifact: %w", err)
	}
	if ct == "" {
		ct = detectType(head, name)
	}
	info := Info{ID: sum, Size: size, ContentType: ct}
	if err := l.commit(f.Name(), &info); err != nil {
		return Info{}, fmt.Errorf("put artifact %s: %w", sum, err)
	}
	return info, nil
}

// smallBufs recycles the buffers small blobs are read into.
var smallBufs sync.Pool

// readSmall reads r into a buffer that starts with room for a pack record
// header, stopping after max+1 content bytes. whole reports that r ended
// within max bytes. Release the buffer with releaseSmall.
func readSmall(ctx context.Context, r io.Reader, max int64) (buf []byte, whole bool, err error) {
	if p, ok := smallBufs.Get().(*[]byte); ok {
		buf = (*p)[:recHeaderLen]
	} else {
		buf = make([]byte, recHeaderLen, recHeaderLen+32<<10)
	}
	src := &ctxReader{ctx: ctx, r: r}
	for int64(len(buf)-recHeaderLen) <= max {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(cap(buf), int(max)+recHeaderLen+1-len(buf)))
		}
		n, err := src.Read(buf[len(buf):min(cap(buf), int(max)+recHeaderLen+1)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, true, nil
		}
		if err != nil {
			return buf, false, err
		}
	}
	return buf, false, nil
}

func releaseSmall(buf []byte) {
	if cap(buf) <= 4<<20 {
		smallBufs.Put(&buf)
	}
}

// putSmall stores the content of buf (after its header room) in a pack,
// unless that content is stored already.
func (l *Local) putSmall(buf []byte, ct, name string) (Info, error) {
	content := buf[recHeaderLen:]
	sum := sha256.Sum256(content)
	id := hex.EncodeToString(sum[:])
	if ct == "" {
		ct = detectType(content[:min(len(content), sniffLen)], name)
	}
	if len(ct) > maxPackType {
		return l.putFile(context.Background(), bytes.NewReader(content), int64(len(content)), ct, name)
	}
	if loc, ok := l.packs.lookup(sum); ok {
		return Info{ID: id, Size: loc.size, ContentType: loc.ct}, nil
	}
	if info, err := l.Stat(context.Background(), id); err == nil && info.Size == int64(len(content)) {
		return info, nil // stored as a file before packs were used
	}
	loc, err := l.packs.add(sum, append(buf, ct...), int64(len(content)), ct)
	if err != nil {
		return Info{}, fmt.Errorf("put artifact %s: %w", id, err)
	}
	return Info{ID: id, Size: loc.size, ContentType: loc.ct}, nil
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

// commit publishes the temp file under info.ID. The content type sidecar
// goes first so a visible blob always has one. If the content is already
// stored, the existing blob and its recorded type win: info is updated.
func (l *Local) commit(tmpName string, info *Info) error {
	final := l.path(info.ID)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return err
	}
	if err := l.writeSidecar(final, info.ContentType); err != nil {
		return err
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

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
