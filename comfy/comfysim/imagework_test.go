package comfysim_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"flag"
	"hash/crc32"
	"image"
	"image/png"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/image/webp"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

// hugeZeroPNG is a valid RGB PNG of w×h black pixels written as a stream,
// so that making it never holds the pixels: at 8192×8192 it is about
// 200 KB on disk and 200 MB (RGBA: 256 MB) decoded.
func hugeZeroPNG(tb testing.TB, w, h int) []byte {
	tb.Helper()
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	pngChunk(&out, "IHDR", ihdr)
	var idat bytes.Buffer
	zw := zlib.NewWriter(&idat)
	row := make([]byte, 1+3*w)
	for range h {
		if _, err := zw.Write(row); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	pngChunk(&out, "IDAT", idat.Bytes())
	pngChunk(&out, "IEND", nil)
	return out.Bytes()
}

func pngChunk(out *bytes.Buffer, typ string, body []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(body)))
	out.Write(n[:])
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(body)
	out.WriteString(typ)
	out.Write(body)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	out.Write(n[:])
}

var updateBomb = flag.Bool("update-bomb", false, "rewrite testdata/bomb-8192.png")

// bombPNG is the file of the issue report: 195,700 bytes of valid PNG that
// declare (and hold) 8192×8192 black pixels. Deflating it takes over a
// minute under the race detector, so it is kept in testdata; -update-bomb
// writes it again.
func bombPNG(tb testing.TB) []byte {
	tb.Helper()
	const path = "testdata/bomb-8192.png"
	if *updateBomb {
		bomb.once.Do(func() {
			if err := os.WriteFile(path, hugeZeroPNG(tb, 8192, 8192), 0o644); err != nil {
				tb.Fatal(err)
			}
		})
	}
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width != 8192 || cfg.Height != 8192 || len(data) > 200<<10 {
		tb.Fatalf("%s: %d bytes declaring %dx%d (%v); want a small 8192x8192 PNG", path, len(data), cfg.Width, cfg.Height, err)
	}
	return data
}

var bomb struct{ once sync.Once }

// noisePNG is a w×h RGBA PNG of random pixels (incompressible).
func noisePNG(tb testing.TB, w, h int) []byte {
	tb.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(uint64(w), uint64(h)))
	for i := range img.Pix {
		img.Pix[i] = byte(r.IntN(256))
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// putInput writes a file straight into the simulator's input directory.
func putInput(tb testing.TB, s *comfysim.Server, name string, data []byte) {
	tb.Helper()
	if err := os.WriteFile(filepath.Join(s.DataDir(), "input", name), data, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// Re-encoding /view answers decode within the image budget: a small file
// declaring 8192×8192 pixels is refused from its header with ComfyUI's
// 500 (what a PIL refusal gives), while ordinary images are served, noisy
// ones included.
func TestViewReencodesWithinBudget(t *testing.T) {
	t.Parallel()
	s := start(t, comfysim.Options{})
	putInput(t, s, "bomb.png", bombPNG(t))
	putInput(t, s, "noise.png", noisePNG(t, 300, 200))
	tests := []struct {
		name, query, typ string
	}{
		{"webp preview", "&preview=webp;90", "image/webp"},
		{"jpeg preview", "&preview=jpeg;75", "image/jpeg"},
		{"rgb channel", "&channel=rgb", "image/png"},
		{"alpha channel", "&channel=a", "image/png"},
		{"webp preview of rgb", "&preview=webp;90&channel=rgb", "image/webp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := get(t, s, "/view?type=input&filename=bomb.png"+tt.query)
			diff(t, "8192² status", http.StatusInternalServerError, r.status)
			r = get(t, s, "/view?type=input&filename=noise.png"+tt.query)
			if r.status != http.StatusOK || r.header.Get("Content-Type") != tt.typ {
				t.Fatalf("noise: %d %s", r.status, r.header.Get("Content-Type"))
			}
			var img image.Image
			var err error
			if tt.typ == "image/webp" {
				img, err = webp.Decode(bytes.NewReader(r.body))
			} else {
				img, _, err = image.Decode(bytes.NewReader(r.body))
			}
			if err != nil || img.Bounds().Dx() != 300 || img.Bounds().Dy() != 200 {
				t.Errorf("answer decodes to %v, %v", img, err)
			}
		})
	}
}

// ImageBudgetMB sets the budget: 1 MB cannot hold a 512×512 RGBA decode.
func TestImageBudgetOption(t *testing.T) {
	t.Parallel()
	small := start(t, comfysim.Options{ImageBudgetMB: 1})
	large := start(t, comfysim.Options{})
	for _, s := range []*comfysim.Server{small, large} {
		putInput(t, s, "big.png", noisePNG(t, 512, 512))
		putInput(t, s, "tiny.png", noisePNG(t, 64, 64))
	}
	diff(t, "512² within 1 MB", 500, get(t, small, "/view?type=input&filename=big.png&preview=webp").status)
	diff(t, "64² within 1 MB", 200, get(t, small, "/view?type=input&filename=tiny.png&preview=webp").status)
	diff(t, "512² within the default", 200, get(t, large, "/view?type=input&filename=big.png&preview=webp").status)
}

// /upload/mask decodes its two images within the budget too.
func TestUploadMaskWithinBudget(t *testing.T) {
	t.Parallel()
	s := start(t, comfysim.Options{})
	putInput(t, s, "bomb.png", bombPNG(t))
	putInput(t, s, "orig.png", noisePNG(t, 32, 32))
	tests := []struct {
		name, original string
		mask           []byte
		status         int
	}{
		{"huge original", "bomb.png", noisePNG(t, 8, 8), 500},
		{"huge mask", "orig.png", bombPNG(t), 500},
		{"ordinary", "orig.png", noisePNG(t, 8, 8), 200},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := `{"filename": "` + tt.original + `", "subfolder": "", "type": "input"}`
			r := upload(t, s, "/upload/mask", "m"+string(rune('a'+i))+".png", tt.mask, "original_ref", ref)
			diff(t, "status", tt.status, r.status)
		})
	}
}
