package artifact

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// packs keeps a Local store's small blobs in append-only pack files
// (<dir>/packs/NNNNNNNN.pack) instead of a file each. Creating a file is
// the costly part of storing a small blob: a new inode and directory entry,
// a content type file beside it, and an fsync of each and of their
// directory. Appending a record to an open pack is one write, and the
// fsync that makes it durable is shared by every record that was appended
// while the previous fsync ran (group commit), so a burst of outputs costs
// one fsync, not three each.
//
// Which pack holds a blob, and where, is kept in memory (about 100 bytes a
// blob); opening the store loads it from the index file, a snapshot written
// when a pack fills up and on Close, and scans only the records after the
// snapshot's mark. A crash can leave a half-written record at the end of
// the last pack: it was never acknowledged, and opening cuts it off.
//
// A pack directory belongs to one process: it is locked while open.
type packs struct {
	dir     string
	maxPack int64
	lock    *packLock
	log     *slog.Logger

	mu       sync.Mutex // guards the fields below
	syncDone *sync.Cond // signalled when an fsync ends
	index    map[[32]byte]packLoc
	types    map[string]string // interned content types
	cur      *packFile         // the pack appended to; nil before the first append
	last     uint32            // the highest pack number in use
	syncing  bool              // an fsync of cur runs without mu
	closed   bool
}

// packLoc is where a blob's content is.
type packLoc struct {
	off   int64 // of the content in its pack
	size  int64
	mtime int64 // Unix nanoseconds
	ct    string
	pack  uint32
}

// packFile is the pack being appended to.
type packFile struct {
	n       uint32
	f       *os.File
	size    int64        // bytes written
	synced  int64        // bytes known to be on disk
	pending []pendingRec // written, not yet known to be on disk, in order
	err     error        // a failed write or fsync: nothing more goes into this pack
}

// pendingRec is a record that enters the index once it is durable.
type pendingRec struct {
	end       int64 // offset after the record
	id        [32]byte
	loc       packLoc
	tombstone bool
}

// errStoreClosed: the store was closed.
var errStoreClosed = errors.New("artifact store is closed")

func packPath(dir string, n uint32) string {
	return filepath.Join(dir, fmt.Sprintf("%08d.pack", n))
}

// openPacks opens (creating if needed) the pack directory dir and loads its
// index.
func openPacks(dir string, maxPack int64, log *slog.Logger) (*packs, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	lock, err := lockPacks(dir)
	if err != nil {
		return nil, err
	}
	p := &packs{dir: dir, maxPack: maxPack, lock: lock, log: log,
		index: map[[32]byte]packLoc{}, types: map[string]string{}}
	p.syncDone = sync.NewCond(&p.mu)
	if err := p.load(); err != nil {
		lock.release()
		return nil, fmt.Errorf("load packs in %s: %w", dir, err)
	}
	return p, nil
}

// load fills the index from the index file and the packs after its mark,
// and cuts a torn record off the end of the last pack.
func (p *packs) load() error {
	nums, err := p.packNumbers()
	if err != nil {
		return err
	}
	mark, err := readIndex(p.dir, p.index, p.intern)
	if err != nil || (len(nums) > 0 && mark.pack > nums[len(nums)-1]+1) {
		p.log.Warn("artifact: pack index unusable, scanning every pack", "err", err)
		clear(p.index)
		mark = packMark{}
	}
	for _, n := range nums {
		if n < mark.pack {
			continue
		}
		from := int64(0)
		if n == mark.pack {
			from = mark.off
		}
		if err := p.scan(n, from, n == nums[len(nums)-1]); err != nil {
			return err
		}
	}
	for id, loc := range p.index { // packs removed by hand take their blobs along
		if !slices.Contains(nums, loc.pack) {
			delete(p.index, id)
		}
	}
	if len(nums) > 0 {
		p.last = nums[len(nums)-1]
	}
	return nil
}

// packNumbers lists the pack files, in order.
func (p *packs) packNumbers() ([]uint32, error) {
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return nil, err
	}
	var nums []uint32
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".pack")
		if n, err := strconv.ParseUint(name, 10, 32); ok && err == nil && !e.IsDir() {
			nums = append(nums, uint32(n))
		}
	}
	slices.Sort(nums)
	return nums, nil
}

// scan indexes pack n's records from offset from on. A record that is not
// whole ends the scan; in the last pack that is an append a crash cut
// short, which is cut off so that appends go on from an intact end.
func (p *packs) scan(n uint32, from int64, last bool) error {
	f, err := os.OpenFile(packPath(p.dir, n), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	end, err := scanPack(f, from, func(r packRecord) {
		if r.kind == recTombstone {
			delete(p.index, r.id)
			return
		}
		p.index[r.id] = packLoc{pack: n, off: r.start + recHeaderLen, size: r.size, mtime: r.mtime, ct: p.intern(r.ct)}
	})
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, errBadRecord):
		return err
	case last:
		p.log.Warn("artifact: cutting off an unfinished record at the end of a pack", "pack", n, "at", end, "err", err)
		if err := f.Truncate(end); err != nil {
			return err
		}
		return f.Sync()
	default:
		p.log.Error("artifact: damaged pack: its blobs after the damage are unreadable", "pack", n, "err", err)
		return nil
	}
}

// intern returns one shared copy of a content type.
func (p *packs) intern(ct string) string {
	if s, ok := p.types[ct]; ok {
		return s
	}
	p.types[ct] = ct
	return ct
}

// lookup returns where blob id is, if it is in a pack.
func (p *packs) lookup(id [32]byte) (packLoc, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	loc, ok := p.index[id]
	return loc, ok
}

// add appends rec (header, content, content type; see fillRecord) as blob
// id and returns its location once it is durable. Content already in a
// pack is not appended again.
func (p *packs) add(id [32]byte, rec []byte, size int64, ct string) (packLoc, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if loc, ok := p.index[id]; ok {
		return loc, nil
	}
	mtime := time.Now().UnixNano()
	pf, end, err := p.appendLocked(fillRecord(rec, recBlob, id, size, mtime, ct), func(pf *packFile, start int64) pendingRec {
		return pendingRec{id: id, loc: packLoc{pack: pf.n, off: start + recHeaderLen, size: size, mtime: mtime, ct: p.intern(ct)}}
	})
	if err == nil {
		err = p.syncLocked(pf, end)
	}
	if err != nil {
		return packLoc{}, err
	}
	// Indexed by whichever fsync covered it: this record, or an equal one
	// a concurrent Put appended first.
	return p.index[id], nil
}

// remove forgets blob id, durably: a tombstone record is appended.
func (p *packs) remove(id [32]byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.index[id]; !ok {
		return nil
	}
	rec := fillRecord(make([]byte, recHeaderLen), recTombstone, id, 0, time.Now().UnixNano(), "")
	pf, end, err := p.appendLocked(rec, func(*packFile, int64) pendingRec { return pendingRec{id: id, tombstone: true} })
	if err == nil {
		err = p.syncLocked(pf, end)
	}
	return err
}

// appendLocked writes rec at the end of the current pack, starting a new
// one when it is full or broken, and queues what pending makes of it for
// the index. It returns the pack and the offset after rec.
func (p *packs) appendLocked(rec []byte, pending func(pf *packFile, start int64) pendingRec) (*packFile, int64, error) {
	if p.closed {
		return nil, 0, errStoreClosed
	}
	if p.cur == nil || p.cur.err != nil || p.cur.size > 0 && p.cur.size+int64(len(rec)) > p.maxPack {
		if err := p.rollLocked(); err != nil {
			return nil, 0, err
		}
	}
	pf := p.cur
	start := pf.size
	if _, err := pf.f.WriteAt(rec, start); err != nil {
		pf.err = fmt.Errorf("write pack %d: %w", pf.n, err)
		return nil, 0, pf.err
	}
	pf.size += int64(len(rec))
	r := pending(pf, start)
	r.end = pf.size
	pf.pending = append(pf.pending, r)
	return pf, pf.size, nil
}

// durableLocked records that pf is on disk up to synced, and moves the
// records that covers from pending into the index, in the order they
// were written.
func (p *packs) durableLocked(pf *packFile, synced int64) {
	pf.synced = max(pf.synced, synced)
	i := 0
	for ; i < len(pf.pending) && pf.pending[i].end <= pf.synced; i++ {
		r := pf.pending[i]
		switch _, had := p.index[r.id]; {
		case r.tombstone:
			delete(p.index, r.id)
		case !had:
			p.index[r.id] = r.loc
		}
	}
	pf.pending = append(pf.pending[:0], pf.pending[i:]...)
}

// syncLocked returns once pf is durable up to end. The caller that finds
// no fsync running runs one, without mu, for everything written so far;
// the others wait for it and, if it did not cover them, run the next.
func (p *packs) syncLocked(pf *packFile, end int64) error {
	for pf.synced < end {
		if pf.err != nil {
			return pf.err
		}
		if p.syncing {
			p.syncDone.Wait()
			continue
		}
		p.syncing = true
		target := pf.size
		p.mu.Unlock()
		err := pf.f.Sync()
		p.mu.Lock()
		p.syncing = false
		p.syncDone.Broadcast()
		if err != nil {
			// After a failed fsync the kernel may have dropped the dirty
			// pages: what was written since the last good one is lost.
			pf.err = fmt.Errorf("sync pack %d: %w", pf.n, err)
			return pf.err
		}
		p.durableLocked(pf, target)
	}
	return nil
}

// rollLocked finishes the current pack (synced, its blobs in a fresh index
// snapshot) and starts the next. Appending to the last pack of an earlier
// run goes on where it ended.
func (p *packs) rollLocked() error {
	for p.syncing {
		p.syncDone.Wait()
	}
	pf := p.cur
	if pf != nil {
		p.cur = nil
		p.finishLocked(pf)
		_ = pf.f.Close()
		if pf.err != nil {
			p.log.Error("artifact: pack broken, starting a new one", "pack", pf.n, "err", pf.err)
		}
		if err := writeIndex(p.dir, p.index, packMark{pack: pf.n + 1}); err != nil {
			p.log.Warn("artifact: writing the pack index failed; the next open scans the packs", "err", err)
		}
	}
	return p.openNextLocked(pf == nil)
}

// finishLocked syncs what was written to pf, for the callers still
// waiting on it too, so that every record in it is indexed; a failure is
// pf.err.
func (p *packs) finishLocked(pf *packFile) {
	if pf.err != nil || pf.synced == pf.size {
		return
	}
	if err := pf.f.Sync(); err != nil {
		pf.err = fmt.Errorf("sync pack %d: %w", pf.n, err)
		return
	}
	p.durableLocked(pf, pf.size)
}

// openNextLocked opens the pack appends go to: on the first append of a
// run the last pack, if it has room, else a new one.
func (p *packs) openNextLocked(first bool) error {
	n := p.last
	flags := os.O_RDWR
	if st, err := os.Stat(packPath(p.dir, n)); !first || n == 0 || err != nil || st.Size() >= p.maxPack {
		n, flags = p.last+1, os.O_RDWR|os.O_CREATE|os.O_EXCL
	}
	f, err := os.OpenFile(packPath(p.dir, n), flags, 0o644)
	if err != nil {
		return fmt.Errorf("open pack %d: %w", n, err)
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err == nil && flags&os.O_CREATE != 0 {
		err = syncDir(p.dir) // the new pack's name is durable before any blob in it
	}
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("open pack %d: %w", n, err)
	}
	p.cur, p.last = &packFile{n: n, f: f, size: size, synced: size}, n
	return nil
}

// open returns blob id's content at loc for reading.
func (p *packs) open(id string, loc packLoc) (Blob, error) {
	f, err := os.Open(packPath(p.dir, loc.pack))
	if err != nil {
		return nil, fmt.Errorf("open artifact %s: %w", id, err)
	}
	return &packBlob{SectionReader: io.NewSectionReader(f, loc.off, loc.size), f: f,
		info: Info{ID: id, Size: loc.size, ContentType: loc.ct}, mod: time.Unix(0, loc.mtime)}, nil
}

// close syncs the current pack, writes the index snapshot and releases the
// directory. Blobs already open stay readable.
func (p *packs) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	for p.syncing {
		p.syncDone.Wait()
	}
	p.closed = true
	var errs []error
	mark := packMark{pack: p.last + 1}
	if pf := p.cur; pf != nil {
		p.finishLocked(pf)
		if pf.err == nil {
			mark = packMark{pack: pf.n, off: pf.size}
		}
		errs = append(errs, pf.err, pf.f.Close())
	}
	if p.last > 0 || p.cur != nil {
		errs = append(errs, writeIndex(p.dir, p.index, mark))
	}
	return errors.Join(append(errs, p.lock.release())...)
}

// packBlob is a blob read from its pack with its own file descriptor, so it
// outlives the store's Close.
type packBlob struct {
	*io.SectionReader
	f    *os.File
	info Info
	mod  time.Time
}

func (b *packBlob) Info() Info         { return b.info }
func (b *packBlob) ModTime() time.Time { return b.mod }
func (b *packBlob) Close() error       { return b.f.Close() }
