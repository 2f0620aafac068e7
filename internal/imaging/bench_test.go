package imaging

import (
	"bytes"
	"io"
	"testing"
)

// blankSource is a w×h image of opaque black, made row by row.
type blankSource struct{ w, h int }

func (b blankSource) Size() (int, int) { return b.w, b.h }
func (blankSource) Alpha() bool        { return false }
func (b blankSource) Rows() (Rows, error) {
	row := make([]byte, 4*b.w)
	for i := 3; i < len(row); i += 4 {
		row[i] = 0xff
	}
	return &blankRows{row: row, left: b.h}, nil
}

type blankRows struct {
	row  []byte
	left int
}

func (r *blankRows) Next() ([]byte, error) {
	if r.left == 0 {
		return nil, io.EOF
	}
	r.left--
	return r.row, nil
}

func (*blankRows) Close() error { return nil }

// BenchmarkReencodeBomb re-encodes the memory report's "small file, huge
// canvas": an 8192×8192 PNG of about 200 KB. B/op is everything allocated
// for one re-encode, a few rows' worth where decoding it whole would take
// 256 MB before any encoder ran.
func BenchmarkReencodeBomb(b *testing.B) {
	var file bytes.Buffer
	if err := WritePNG(&file, blankSource{8192, 8192}, nil); err != nil {
		b.Fatal(err)
	}
	b.Logf("the bomb: %d bytes", file.Len())
	encoders := []struct {
		name string
		run  func(Source) error
	}{
		{"webp", func(s Source) error {
			p, err := PlanWebP(s)
			if err == nil {
				_, err = p.WriteTo(io.Discard)
			}
			return err
		}},
		{"png-rgb", func(s Source) error { return WritePNG(io.Discard, Opaque(s), nil) }},
		{"jpeg", func(s Source) error { return WriteJPEG(io.Discard, s, 90) }},
		{"mask", func(s Source) error { return WritePNG(io.Discard, WithAlpha(s, s), nil) }},
	}
	for _, e := range encoders {
		b.Run(e.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, err := OpenPNG(bytes.NewReader(file.Bytes()), PNGOptions{})
				if err != nil {
					b.Fatal(err)
				}
				src := Source(p)
				if e.name == "mask" {
					m, _ := OpenPNG(bytes.NewReader(file.Bytes()), PNGOptions{})
					src = WithAlpha(p, m)
					if err := WritePNG(io.Discard, src, nil); err != nil {
						b.Fatal(err)
					}
					continue
				}
				if err := e.run(src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
