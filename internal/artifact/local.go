package artifact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// LocalOptions configure a Local store. Zero values take the defaults.
type LocalOptions struct {
	// MaxSize bounds a Put whose PutOptions.MaxSize is 0. Default 4 GiB.
	MaxSize int64
	// StaleTemp is the age past which leftover temp files (from a crash
	// mid-Put) are removed when the store opens. Default 1 hour.
	StaleTemp time.Duration
	// Logger receives cleanup and repair notes. Default: discard.
	Logger *slog.Logger
	// InlineMax is the largest blob kept as a row of the store's blobs.db
	// instead of a file of its own (see inline). Default DefaultInlineMax;
	// negative keeps every blob in a file.
	InlineMax int64
}

// Local stores blobs in a directory. Small blobs (up to InlineMax) are rows
// of <dir>/blobs.db; larger ones are files <dir>/<ab>/<cd>/<id>, where ab
// and cd are the ID's first two byte pairs (keeping directories small). A
// file's content type is an extended attribute of the file (Linux, on
// filesystems with user attributes), else a sidecar file <id>.type beside
// it; blobs stored with a sidecar keep it. Temp files live in <dir>/tmp, on
// the same filesystem, so publishing a blob is one link(2). Reads look in
// both places, so a store written with another InlineMax, or by an earlier
// version that kept only files, reads back whole.
type Local struct {
	dir       string
	tmp       string
	maxSize   int64
	inlineMax int64 // 0: every blob is a file
	inline    *inline
	heads     sync.Pool // *[]byte of inlineMax+1: a Put's start, until it is known to fit a row
	log       *slog.Logger
	noAttrs   atomic.Bool // the filesystem refused user attributes: sidecars only
}

// errNoAttrs: the filesystem keeps no user extended attributes.
var errNoAttrs = errors.New("no user extended attributes here")

var _ Backend = (*Local)(nil)

// NewLocal opens (creating if needed) a store in dir.
func NewLocal(dir string, opts LocalOptions) (*Local, error) {
	if opts.MaxSize <= 0 {
		opts.MaxSize = 4 << 30
	}
	if opts.StaleTemp <= 0 {
		opts.StaleTemp = time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.InlineMax == 0 {
		opts.InlineMax = DefaultInlineMax
	}
	dir = filepath.Clean(dir)
	l := &Local{dir: dir, tmp: filepath.Join(dir, "tmp"), maxSize: opts.MaxSize, inlineMax: max(opts.InlineMax, 0), log: opts.Logger}
	if err := os.MkdirAll(l.tmp, 0o755); err != nil {
		return nil, fmt.Errorf("open artifact store: %w", err)
	}
	removeStaleTemp(l.tmp, "", time.Now().Add(-opts.StaleTemp), l.log)
	// Opened even when nothing new goes inline: earlier blobs may be there.
	in, err := openInline(dir)
	if err != nil {
		return nil, fmt.Errorf("open artifact store: %w", err)
	}
	l.inline = in
	l.heads.New = func() any { b := make([]byte, l.inlineMax+1); return &b }
	return l, nil
}

// removeStaleTemp deletes the temp files in dir whose names start with
// prefix that a crashed Put left behind. Young ones are left alone:
// another process may be writing them.
func removeStaleTemp(dir, prefix string, before time.Time, log *slog.Logger) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		log.Warn("artifact: list temp dir", "err", err)
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) || e.IsDir() {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(before) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
			log.Info("artifact: removed stale temp file", "name", e.Name())
		}
	}
}

// Ready implements Backend: the directory is still there (a disk that was
// unmounted under a running process is not).
func (l *Local) Ready(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := os.Stat(l.tmp); err != nil {
		return fmt.Errorf("artifact store %s: %w", l.dir, err)
	}
	return nil
}

// Close implements Backend: it closes the small blobs' database.
func (l *Local) Close() error { return l.inline.close() }

// path returns where a valid id lives; callers check the id first.
func (l *Local) path(id string) string {
	return filepath.Join(l.dir, id[0:2], id[2:4], id)
}

func sidecarPath(blobPath string) string { return blobPath + ".type" }

// Open implements Store.
func (l *Local) Open(ctx context.Context, id string) (Blob, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	if b, ok, err := l.inline.open(ctx, id); ok || err != nil {
		return b, wrapInline(id, err)
	}
	p := l.path(id)
	f, err := os.Open(p)
	if err != nil {
		return nil, notFound(id, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open artifact %s: %w", id, err)
	}
	info := Info{ID: id, Size: st.Size(), ContentType: l.readType(p)}
	return &localBlob{File: f, info: info, mod: st.ModTime()}, nil
}

// Stat implements Store.
func (l *Local) Stat(ctx context.Context, id string) (Info, error) {
	if err := checkID(id); err != nil {
		return Info{}, err
	}
	if info, ok, err := l.inline.stat(ctx, id); ok || err != nil {
		return info, wrapInline(id, err)
	}
	p := l.path(id)
	st, err := os.Stat(p)
	if err != nil {
		return Info{}, notFound(id, err)
	}
	return Info{ID: id, Size: st.Size(), ContentType: l.readType(p)}, nil
}

// Exists implements Store.
func (l *Local) Exists(ctx context.Context, id string) (bool, error) {
	_, err := l.Stat(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Delete implements Store. The blob goes first, so a blob is never visible
// without its content type.
func (l *Local) Delete(ctx context.Context, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	if err := l.inline.remove(ctx, id); err != nil {
		return fmt.Errorf("delete artifact %s: %w", id, err)
	}
	p := l.path(id)
	for _, name := range []string{p, sidecarPath(p)} {
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("delete artifact %s: %w", id, err)
		}
	}
	return nil
}

// wrapInline names the blob in an error of the small blobs' database.
func wrapInline(id string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("artifact %s: %w", id, err)
}

func notFound(id string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("artifact %s: %w", id, ErrNotFound)
	}
	return fmt.Errorf("artifact %s: %w", id, err)
}

// maxTypeLen bounds what is read from a sidecar.
const maxTypeLen = 256

// readType returns the recorded content type, or the generic binary type
// if the sidecar is missing or damaged.
func (l *Local) readType(blobPath string) string {
	if ct, ok := typeFromAttr(blobPath); ok {
		if _, _, err := mime.ParseMediaType(ct); err == nil {
			return ct
		}
	}
	f, err := os.Open(sidecarPath(blobPath))
	if err != nil {
		return octetStream
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, maxTypeLen))
	if err != nil {
		return octetStream
	}
	ct := strings.TrimSpace(string(buf))
	if _, _, err := mime.ParseMediaType(ct); err != nil {
		return octetStream
	}
	return ct
}

// localBlob is an open file plus what Open learned about it.
type localBlob struct {
	*os.File
	info Info
	mod  time.Time
}

func (b *localBlob) Info() Info         { return b.info }
func (b *localBlob) ModTime() time.Time { return b.mod }

// osFile lets Serve hand the file itself to net/http, which then streams it
// with sendfile(2).
func (b *localBlob) osFile() *os.File { return b.File }
