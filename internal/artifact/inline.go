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

	"github.com/comfygate/comfygate/internal/groupcommit"
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
	puts  *groupcommit.Batcher[*putOp] // concurrent puts share one commit
}

// maxPutBatch bounds the puts of one commit: at most 64 rows of at most
// InlineMax bytes each are held by waiting callers anyway.
const maxPutBatch = 64

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
	in := &inline{write: write, read: read, now: time.Now}
	in.puts = groupcommit.New(maxPutBatch, in.putBatch)
	return in, nil
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
	in.puts.Close()
	return errors.Join(in.write.Close(), in.read.Close())
}

// putOp is one caller's put, waiting for its batch.
type putOp struct {
	ctx      context.Context
	info     *Info
	data     []byte
	inserted bool // set by the batch: the row is new, not an earlier Put's
}

// put stores data as blob info.ID unless it is stored already; then info
// takes the stored content type (the first Put's wins). Puts that arrive
// while another commits are committed together, one fsync for all of
// them; each returns once its row is durable.
func (in *inline) put(ctx context.Context, info *Info, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	op := &putOp{ctx: ctx, info: info, data: data}
	err := in.puts.Do(op)
	if errors.Is(err, groupcommit.ErrClosed) {
		return fmt.Errorf("blob %s: %w", info.ID, os.ErrClosed)
	}
	if err != nil || op.inserted {
		return err
	}
	stored, ok, err := in.stat(ctx, info.ID)
	if err == nil && ok {
		info.ContentType = stored.ContentType
	}
	return err
}

const insertBlob = `INSERT INTO blobs (id, size, type, created, data) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`

// putBatch inserts the rows of batch in one transaction. Should any insert
// fail, the transaction is rolled back and each put runs alone, so that one
// put's failure is its own.
func (in *inline) putBatch(batch []*putOp) []error {
	errs := make([]error, len(batch))
	if len(batch) > 1 {
		if err := in.insertAll(batch); err == nil {
			return errs
		}
	}
	for i, op := range batch {
		errs[i] = in.insert(op.ctx, in.write, op)
	}
	return errs
}

// insertAll inserts every row of batch in one transaction, or none.
func (in *inline) insertAll(batch []*putOp) (err error) {
	ctx := context.Background() // one caller's end must not undo the others' rows
	conn, err := in.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_, _ = conn.ExecContext(ctx, "ROLLBACK")
			for _, op := range batch {
				op.inserted = false
			}
		}
	}()
	for _, op := range batch {
		if err := op.ctx.Err(); err != nil {
			return err // run alone, it reports its own end
		}
		if err := in.insert(ctx, conn, op); err != nil {
			return err
		}
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}

// insert inserts op's row unless the blob is stored already.
func (in *inline) insert(ctx context.Context, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, op *putOp) error {
	res, err := db.ExecContext(ctx, insertBlob, op.info.ID, op.info.Size, op.info.ContentType, in.now().UnixMicro(), op.data)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	op.inserted = n == 1
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
