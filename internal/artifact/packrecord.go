package artifact

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// A pack file holds small blobs back to back, one record each:
//
//	offset  size  field
//	0       4     magic "CGPK"
//	4       1     kind: 1 a blob, 2 a tombstone (the blob was deleted)
//	5       1     length of the content type
//	6       2     zero
//	8       8     content size, little-endian
//	16      8     modification time, Unix nanoseconds
//	24      32    blob ID: the raw SHA-256 of the content
//	56      4     CRC-32C of bytes 0–55, the content and the content type
//	60      4     zero
//	64      size  content
//	64+size n     content type
//
// The content comes before the content type so that a Put can read the
// content straight into a buffer that already has room for the header in
// front: the record goes to the file in one write, without a copy.
const (
	recHeaderLen = 64
	recBlob      = 1
	recTombstone = 2
	maxPackType  = 255 // a longer content type is kept with a blob file of its own
)

var (
	packMagic  = [4]byte{'C', 'G', 'P', 'K'}
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// packRecord is one record as read back from a pack.
type packRecord struct {
	kind  byte
	id    [32]byte
	size  int64
	mtime int64
	ct    string
	start int64 // offset of the record in its pack
}

// fillRecord writes the header of a record into rec[:recHeaderLen], where
// rec is header, content and content type, and returns rec.
func fillRecord(rec []byte, kind byte, id [32]byte, size, mtime int64, ct string) []byte {
	h := rec[:recHeaderLen]
	copy(h[0:4], packMagic[:])
	h[4], h[5], h[6], h[7] = kind, byte(len(ct)), 0, 0
	binary.LittleEndian.PutUint64(h[8:], uint64(size))
	binary.LittleEndian.PutUint64(h[16:], uint64(mtime))
	copy(h[24:56], id[:])
	binary.LittleEndian.PutUint32(h[60:], 0)
	binary.LittleEndian.PutUint32(h[56:], crc32.Update(crc32.Checksum(h[:56], castagnoli), castagnoli, rec[recHeaderLen:]))
	return rec
}

// errBadRecord: the bytes at an offset are not a whole, intact record
// (typically the tail of a write that a crash cut short).
var errBadRecord = errors.New("not a whole pack record")

// scanPack reads f's records from offset off to its end, calling fn for
// each intact one, and returns the offset after the last intact record.
// Its error wraps errBadRecord when it stopped at bytes that are not a
// record; any other error is the file's.
func scanPack(f *os.File, off int64, fn func(packRecord)) (int64, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(f, off, 1<<62), 256<<10)
	var h [recHeaderLen]byte
	for {
		n, err := io.ReadFull(br, h[:])
		switch {
		case n == 0 && errors.Is(err, io.EOF):
			return off, nil
		case errors.Is(err, io.ErrUnexpectedEOF):
			return off, fmt.Errorf("%w at %d: header cut short", errBadRecord, off)
		case err != nil:
			return off, err
		}
		rec, err := readRecord(br, h, off)
		if err != nil {
			return off, err
		}
		fn(rec)
		off += recHeaderLen + rec.size + int64(len(rec.ct))
	}
}

// readRecord checks the header h of the record at off and reads the rest
// of it from br, checking its CRC.
func readRecord(br *bufio.Reader, h [recHeaderLen]byte, off int64) (packRecord, error) {
	rec := packRecord{kind: h[4], start: off}
	size := binary.LittleEndian.Uint64(h[8:])
	if [4]byte(h[0:4]) != packMagic || (rec.kind != recBlob && rec.kind != recTombstone) ||
		h[6] != 0 || h[7] != 0 || binary.LittleEndian.Uint32(h[60:]) != 0 || size > 1<<40 ||
		rec.kind == recTombstone && size != 0 {
		return rec, fmt.Errorf("%w at %d: bad header", errBadRecord, off)
	}
	rec.size, rec.mtime = int64(size), int64(binary.LittleEndian.Uint64(h[16:]))
	copy(rec.id[:], h[24:56])
	crc := crc32.Checksum(h[:56], castagnoli)
	w := crcWriter{crc: crc}
	if _, err := io.CopyN(&w, br, rec.size); err != nil {
		return rec, fmt.Errorf("%w at %d: content cut short (%v)", errBadRecord, off, err)
	}
	ct := make([]byte, h[5])
	if _, err := io.ReadFull(br, ct); err != nil {
		return rec, fmt.Errorf("%w at %d: content type cut short (%v)", errBadRecord, off, err)
	}
	if crc32.Update(w.crc, castagnoli, ct) != binary.LittleEndian.Uint32(h[56:]) {
		return rec, fmt.Errorf("%w at %d: checksum mismatch", errBadRecord, off)
	}
	rec.ct = string(ct)
	return rec, nil
}

// crcWriter accumulates a CRC-32C of what is written to it.
type crcWriter struct{ crc uint32 }

func (w *crcWriter) Write(p []byte) (int, error) {
	w.crc = crc32.Update(w.crc, castagnoli, p)
	return len(p), nil
}
