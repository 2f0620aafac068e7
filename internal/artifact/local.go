package artifact

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"os"
	"path/filepath"
	"strings"
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
	// SmallBlobSize is the size up to which a blob is appended to a pack
	// file (<dir>/packs) instead of getting a file of its own: storing it
	// then costs one write and a share of one fsync, where a file of its own
	// costs a new inode, a content type file and three fsyncs. Default 1 MiB;
	// negative: every blob gets a file of its own.
	SmallBlobSize int64
	// PackSize is the size past which a pack file is finished and the next
	// one started. Default 64 MiB.
	PackSize int64
}

// Defaults of LocalOptions.
const (
	DefaultSmallBlobSize = 1 << 20
	DefaultPackSize      = 64 << 20
)

// Local stores blobs in a directory: small ones in pack files (see packs),
// larger ones in <dir>/<ab>/<cd>/<id>, where ab and cd are the ID's first
// two byte pairs (keeping directories small), with the content type in a
// sidecar file <id>.type beside it. Temp files live in <dir>/tmp, on the
// same filesystem, so publishing a blob is one link(2). The directory
// belongs to one open store at a time (ErrDirInUse).
type Local struct {
	dir      string
	tmp      string
	maxSize  int64
	smallMax int64  // largest blob put in a pack; 0 with packs off
	packs    *packs // nil with packs off
	log      *slog.Logger
	closed   atomic.Bool
}

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
	if opts.SmallBlobSize == 0 {
		opts.SmallBlobSize = DefaultSmallBlobSize
	}
	if opts.PackSize <= 0 {
		opts.PackSize = DefaultPackSize
	}
	l := &Local{dir: dir, tmp: filepath.Join(dir, "tmp"), maxSize: opts.MaxSize, log: opts.Logger}
	if err := os.MkdirAll(l.tmp, 0o755); err != nil {
		return nil, fmt.Errorf("open artifact store: %w", err)
	}
	if opts.SmallBlobSize > 0 {
		p, err := openPacks(filepath.Join(dir, "packs"), opts.PackSize, l.log)
		if err != nil {
			return nil, fmt.Errorf("open artifact store: %w", err)
		}
		l.packs, l.smallMax = p, opts.SmallBlobSize
	}
	removeStaleTemp(l.tmp, "", time.Now().Add(-opts.StaleTemp), l.log)
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

// Close implements Backend: it syncs and releases the packs. Puts and
// Deletes fail after it; blobs already open stay readable.
func (l *Local) Close() error {
	l.closed.Store(true)
	if l.packs == nil {
		return nil
	}
	return l.packs.close()
}

// packed returns where a valid id is in the packs, if it is there.
func (l *Local) packed(id string) (packLoc, bool) {
	if l.packs == nil {
		return packLoc{}, false
	}
	return l.packs.lookup(rawID(id))
}

// rawID is a valid id's bytes.
func rawID(id string) [32]byte {
	var b [32]byte
	_, _ = hex.Decode(b[:], []byte(id))
	return b
}

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
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if loc, ok := l.packed(id); ok {
		return l.packs.open(id, loc)
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
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	if loc, ok := l.packed(id); ok {
		return Info{ID: id, Size: loc.size, ContentType: loc.ct}, nil
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
	if err := ctx.Err(); err != nil {
		return err
	}
	if l.closed.Load() {
		return fmt.Errorf("delete artifact %s: %w", id, errStoreClosed)
	}
	if l.packs != nil {
		if err := l.packs.remove(rawID(id)); err != nil {
			return fmt.Errorf("delete artifact %s: %w", id, err)
		}
	}
	p := l.path(id)
	for _, name := range []string{p, sidecarPath(p)} {
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("delete artifact %s: %w", id, err)
		}
	}
	return nil
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
