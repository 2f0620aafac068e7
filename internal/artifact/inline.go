package artifact

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// inlineFile is the SQLite database, inside a local store's directory,
// that holds its small blobs.
const inlineFile = "blobs.db"

// DefaultInlineMax is the largest blob a local store keeps as a row of its
// blobs.db rather than as a file of its own.
const DefaultInlineMax = 256 << 10

// inline keeps small blobs as rows of one SQLite database (WAL,
// synchronous=FULL). Creating a file is the dearest thing a store does with
// a small blob: a new inode, a directory entry, the directory's and the
// file's fsync. A row is one append to the write-ahead log and one fsync,
// and deleting it is a transaction like any other, so a crash never leaves
// half a blob or a blob with no content type. A row is read whole, which is
// why only blobs up to the store's InlineMax live here.
type inline struct {
	write *sql.DB // one connection: SQLite has one writer
	read  *sql.DB
	now   func() time.Time
}

const inlineSchema = `CREATE TABLE IF NOT EXISTS blobs (
	id TEXT PRIMARY KEY,
	size INTEGER NOT NULL,
	type TEXT NOT NULL,
	created INTEGER NOT NULL, -- Unix microseconds
	data BLOB NOT NULL
)`

// openInline opens (creating if needed) the blob database in dir.
func openInline(dir string) (*inline, error) {
	path := filepath.Join(dir, inlineFile)
	write, err := openBlobDB(path, 1, false)
	if err != nil {
		return nil, err
	}
	if _, err := write.Exec(inlineSchema); err != nil {
		return nil, errors.Join(fmt.Errorf("open %s: %w", path, err), write.Close())
	}
	read, err := openBlobDB(path, 4, true)
	if err != nil {
		return nil, errors.Join(err, write.Close())
	}
	return &inline{write: write, read: read, now: time.Now}, nil
}

func openBlobDB(path string, conns int, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	if !readOnly {
		// Pages freed by deletes go back to the file system in steps
		// (remove), not only to SQLite's free list. The mode takes only on
		// a new file, before WAL mode writes its header.
		q.Add("_pragma", "auto_vacuum(INCREMENTAL)")
	}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)") // a stored blob survives a power cut
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	}
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

func (in *inline) close() error {
	return errors.Join(in.write.Close(), in.read.Close())
}

// put stores data as blob info.ID unless it is stored already; then info
// takes the stored content type (the first Put's wins).
func (in *inline) put(ctx context.Context, info *Info, data []byte) error {
	res, err := in.write.ExecContext(ctx,
		`INSERT INTO blobs (id, size, type, created, data) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		info.ID, info.Size, info.ContentType, in.now().UnixMicro(), data)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	stored, ok, err := in.stat(ctx, info.ID)
	if err == nil && ok {
		info.ContentType = stored.ContentType
	}
	return err
}

// stat returns blob id's Info; ok is false when it is not here.
func (in *inline) stat(ctx context.Context, id string) (Info, bool, error) {
	info := Info{ID: id}
	err := in.read.QueryRowContext(ctx, `SELECT size, type FROM blobs WHERE id = ?`, id).Scan(&info.Size, &info.ContentType)
	if errors.Is(err, sql.ErrNoRows) {
		return Info{}, false, nil
	}
	return info, err == nil, err
}

// open returns blob id read whole; ok is false when it is not here.
func (in *inline) open(ctx context.Context, id string) (Blob, bool, error) {
	b := &rowBlob{info: Info{ID: id}}
	var created int64
	var data []byte
	err := in.read.QueryRowContext(ctx, `SELECT size, type, created, data FROM blobs WHERE id = ?`, id).
		Scan(&b.info.Size, &b.info.ContentType, &created, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if int64(len(data)) != b.info.Size {
		return nil, false, fmt.Errorf("blob %s: %d bytes stored, %d recorded", id, len(data), b.info.Size)
	}
	b.Reader = bytes.NewReader(data)
	b.mod = time.UnixMicro(created)
	return b, true, nil
}

// vacuumPages is how many free pages the store lets pile up before it hands
// them back to the file system (4 MiB of 4 KiB pages).
const vacuumPages = 1024

// remove deletes blob id if it is here, and returns the space of many
// deletes to the file system.
func (in *inline) remove(ctx context.Context, id string) error {
	res, err := in.write.ExecContext(ctx, `DELETE FROM blobs WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	var free int64
	if err := in.write.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&free); err != nil || free < vacuumPages {
		return err
	}
	_, err = in.write.ExecContext(ctx, `PRAGMA incremental_vacuum`)
	return err
}

// rowBlob is a blob read whole from its row.
type rowBlob struct {
	*bytes.Reader
	info   Info
	mod    time.Time
	closed bool
}

func (b *rowBlob) Info() Info         { return b.info }
func (b *rowBlob) ModTime() time.Time { return b.mod }

// Close drops the content: reading a closed blob fails as a closed file's
// read does.
func (b *rowBlob) Close() error {
	if b.closed {
		return os.ErrClosed
	}
	b.closed, b.Reader = true, bytes.NewReader(nil)
	return nil
}

func (b *rowBlob) Read(p []byte) (int, error) {
	if b.closed {
		return 0, os.ErrClosed
	}
	return b.Reader.Read(p)
}

func (b *rowBlob) Seek(offset int64, whence int) (int64, error) {
	if b.closed {
		return 0, os.ErrClosed
	}
	return b.Reader.Seek(offset, whence)
}
