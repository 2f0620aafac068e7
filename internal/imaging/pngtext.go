package imaging

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// TextChunk is one PNG text entry (tEXt when Latin-1, like PIL's PngInfo).
type TextChunk struct {
	Key, Value string
}

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// maxTextChunk bounds one decompressed zTXt/iTXt value, and
// maxTextTotal all text of one image (PIL has limits of the same kind:
// a file full of small compressed chunks must not inflate without end).
const (
	maxTextChunk = 8 << 20
	maxTextTotal = 8 << 20
)

// MaxText is the most text ReadText returns.
const MaxText = maxTextTotal

// errTooMuchText: an image's text chunks add up to more than maxTextTotal.
var errTooMuchText = errors.New("read png text: too much memory used in text chunks")

// InsertText adds text chunks just before the first IDAT chunk. Values that
// are not Latin-1 go into iTXt chunks, as PIL does.
func InsertText(data []byte, text []TextChunk) ([]byte, error) {
	if !bytes.HasPrefix(data, pngMagic) {
		return nil, errors.New("insert png text: not a PNG")
	}
	pos := len(pngMagic)
	for pos+8 <= len(data) {
		n := int(binary.BigEndian.Uint32(data[pos:]))
		typ := string(data[pos+4 : pos+8])
		if typ == "IDAT" {
			break
		}
		pos += 12 + n
	}
	if pos+8 > len(data) {
		return nil, errors.New("insert png text: no IDAT chunk")
	}
	var chunks bytes.Buffer
	for _, t := range text {
		writeTextChunk(&chunks, t)
	}
	out := make([]byte, 0, len(data)+chunks.Len())
	out = append(out, data[:pos]...)
	out = append(out, chunks.Bytes()...)
	return append(out, data[pos:]...), nil
}

func writeTextChunk(w *bytes.Buffer, t TextChunk) {
	if latin1, ok := toLatin1(t.Value); ok {
		body := append([]byte(t.Key+"\x00"), latin1...)
		writeChunk(w, "tEXt", body)
		return
	}
	// keyword, null, compression flag 0, method 0, empty language, null,
	// empty translated keyword, null, UTF-8 text
	body := append([]byte(t.Key), 0, 0, 0, 0, 0)
	writeChunk(w, "iTXt", append(body, t.Value...))
}

func toLatin1(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xFF {
			return nil, false
		}
		out = append(out, byte(r))
	}
	return out, true
}

func writeChunk(w *bytes.Buffer, typ string, body []byte) {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(body)))
	copy(hdr[4:], typ)
	w.Write(hdr[:])
	w.Write(body)
	crc := crc32.NewIEEE()
	crc.Write(hdr[4:])
	crc.Write(body)
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc.Sum32())
	w.Write(sum[:])
}

// ReadText returns the tEXt, zTXt and iTXt entries of a PNG in file order
// (PIL's img.text). Non-PNG data yields nil.
func ReadText(data []byte) ([]TextChunk, error) {
	if !bytes.HasPrefix(data, pngMagic) {
		return nil, nil
	}
	var out []TextChunk
	total := 0
	pos := len(pngMagic)
	for pos+12 <= len(data) {
		n := int(binary.BigEndian.Uint32(data[pos:]))
		if n < 0 || pos+12+n > len(data) {
			return out, errors.New("read png text: truncated chunk")
		}
		typ := string(data[pos+4 : pos+8])
		body := data[pos+8 : pos+8+n]
		pos += 12 + n
		t, ok, err := parseTextChunk(typ, body)
		if err != nil {
			return out, err
		}
		if ok {
			if total += len(t.Key) + len(t.Value); total > maxTextTotal {
				return out, errTooMuchText
			}
			out = append(out, t)
		}
		if typ == "IEND" {
			break
		}
	}
	return out, nil
}

func parseTextChunk(typ string, body []byte) (TextChunk, bool, error) {
	key, rest, found := bytes.Cut(body, []byte{0})
	if !found {
		return TextChunk{}, false, nil
	}
	switch typ {
	case "tEXt":
		return TextChunk{Key: string(key), Value: latin1ToString(rest)}, true, nil
	case "zTXt":
		if len(rest) < 1 {
			return TextChunk{}, false, nil
		}
		v, err := inflate(rest[1:])
		return TextChunk{Key: string(key), Value: latin1ToString(v)}, err == nil, err
	case "iTXt":
		return parseITXt(string(key), rest)
	}
	return TextChunk{}, false, nil
}

func parseITXt(key string, rest []byte) (TextChunk, bool, error) {
	if len(rest) < 2 {
		return TextChunk{}, false, nil
	}
	compressed := rest[0] == 1
	rest = rest[2:]
	_, rest, _ = bytes.Cut(rest, []byte{0}) // language
	_, rest, _ = bytes.Cut(rest, []byte{0}) // translated keyword
	if !compressed {
		return TextChunk{Key: key, Value: string(rest)}, true, nil
	}
	v, err := inflate(rest)
	return TextChunk{Key: key, Value: string(v)}, err == nil, err
}

func inflate(b []byte) ([]byte, error) {
	r, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("png text: %w", err)
	}
	defer r.Close()
	v, err := io.ReadAll(io.LimitReader(r, maxTextChunk+1))
	if err != nil {
		return nil, fmt.Errorf("png text: %w", err)
	}
	if len(v) > maxTextChunk {
		return nil, errors.New("png text: value too large")
	}
	return v, nil
}

func latin1ToString(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}
