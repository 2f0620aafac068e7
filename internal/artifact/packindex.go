package artifact

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// The index file is a snapshot of the packs' index, so that opening the
// store reads one file instead of every pack. It is a cache: missing,
// damaged or stale, the packs are scanned instead. Its mark says up to
// where it covers the packs: every record before the mark's offset in the
// mark's pack, and in every earlier pack.
//
//	"CGPI" | version 1 | mark pack (4) | mark offset (8) | count (4)
//	count × (id 32 | pack 4 | offset 8 | size 8 | mtime 8 | type length 1 | type)
//	CRC-32C of everything before it (4)
const indexFile = "index"

var indexMagic = [4]byte{'C', 'G', 'P', 'I'}

// packMark is a position in the packs: a pack number and an offset in it.
type packMark struct {
	pack uint32
	off  int64
}

// writeIndex replaces dir's index file with the entries of index, covering
// the packs up to mark. The file is not synced: a crash that loses it only
// makes the next open scan.
func writeIndex(dir string, index map[[32]byte]packLoc, mark packMark) error {
	tmp, err := os.CreateTemp(dir, "index-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	crc := &crcWriter{}
	w := bufio.NewWriterSize(io.MultiWriter(tmp, crc), 256<<10)
	var b [recHeaderLen]byte
	copy(b[0:4], indexMagic[:])
	b[4] = 1
	binary.LittleEndian.PutUint32(b[5:], mark.pack)
	binary.LittleEndian.PutUint64(b[9:], uint64(mark.off))
	binary.LittleEndian.PutUint32(b[17:], uint32(len(index)))
	_, _ = w.Write(b[:21])
	for id, loc := range index {
		copy(b[0:32], id[:])
		binary.LittleEndian.PutUint32(b[32:], loc.pack)
		binary.LittleEndian.PutUint64(b[36:], uint64(loc.off))
		binary.LittleEndian.PutUint64(b[44:], uint64(loc.size))
		binary.LittleEndian.PutUint64(b[52:], uint64(loc.mtime))
		b[60] = byte(len(loc.ct))
		_, _ = w.Write(b[:61])
		_, _ = w.WriteString(loc.ct)
	}
	err = w.Flush()
	if err == nil {
		err = binary.Write(tmp, binary.LittleEndian, crc.crc)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, indexFile))
}

// errBadIndex: the index file is not a whole snapshot.
var errBadIndex = errors.New("damaged pack index")

// readIndex loads dir's index file into index (interning content types with
// intern) and returns its mark. A missing file is the zero mark and no
// error; a damaged one wraps errBadIndex.
func readIndex(dir string, index map[[32]byte]packLoc, intern func(string) string) (packMark, error) {
	f, err := os.Open(filepath.Join(dir, indexFile))
	if errors.Is(err, os.ErrNotExist) {
		return packMark{}, nil
	}
	if err != nil {
		return packMark{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return packMark{}, err
	}
	crc := &crcWriter{}
	r := bufio.NewReaderSize(io.TeeReader(io.LimitReader(f, max(st.Size()-4, 0)), crc), 256<<10)
	var b [recHeaderLen]byte
	if _, err := io.ReadFull(r, b[:21]); err != nil || [4]byte(b[0:4]) != indexMagic || b[4] != 1 {
		return packMark{}, fmt.Errorf("%w: bad header", errBadIndex)
	}
	mark := packMark{pack: binary.LittleEndian.Uint32(b[5:]), off: int64(binary.LittleEndian.Uint64(b[9:]))}
	count := binary.LittleEndian.Uint32(b[17:])
	loaded := make(map[[32]byte]packLoc, min(count, 1<<20))
	for range count {
		if _, err := io.ReadFull(r, b[:61]); err != nil {
			return packMark{}, fmt.Errorf("%w: entries cut short", errBadIndex)
		}
		ct := make([]byte, b[60])
		if _, err := io.ReadFull(r, ct); err != nil {
			return packMark{}, fmt.Errorf("%w: entries cut short", errBadIndex)
		}
		loaded[[32]byte(b[0:32])] = packLoc{
			pack: binary.LittleEndian.Uint32(b[32:]), off: int64(binary.LittleEndian.Uint64(b[36:])),
			size: int64(binary.LittleEndian.Uint64(b[44:])), mtime: int64(binary.LittleEndian.Uint64(b[52:])),
			ct: intern(string(ct)),
		}
	}
	var sum uint32
	if n, err := io.Copy(io.Discard, r); err != nil || n != 0 || binary.Read(f, binary.LittleEndian, &sum) != nil || sum != crc.crc {
		return packMark{}, fmt.Errorf("%w: checksum mismatch", errBadIndex)
	}
	for id, loc := range loaded {
		index[id] = loc
	}
	return mark, nil
}
