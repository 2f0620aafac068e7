package comfy

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

func TestBinaryFramesRoundTrip(t *testing.T) {
	t.Parallel()
	meta := PreviewMetadata{NodeID: "3", PromptID: "p", DisplayNodeID: "3", RealNodeID: "3", ImageType: "image/png"}
	withMeta, err := EncodePreviewWithMetadata(meta, pngMagic)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		frame []byte
		want  Event
	}{
		{"type 1 jpeg", EncodePreview(FormatJPEG, []byte{0xff, 0xd8}), PreviewImage{Format: FormatJPEG, Image: []byte{0xff, 0xd8}}},
		{"type 1 png", EncodePreview(FormatPNG, pngMagic), PreviewImage{Format: FormatPNG, Image: pngMagic}},
		{"type 4", withMeta, PreviewImageWithMetadata{Meta: meta, Image: pngMagic}},
		{"type 3", EncodeText("12", "Image size: 512x512"), ProgressText{NodeID: "12", Text: "Image size: 512x512"}},
		{"type 3 empty text", EncodeText("", ""), ProgressText{}},
		{"unknown type kept whole", []byte{0, 0, 0, 9, 1, 2}, UnknownBinary{Type: 9, Data: []byte{0, 0, 0, 9, 1, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeBinaryFrame(tt.frame)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("decode (-want +got):\n%s", diff)
			}
			f, err := EncodeFrame(got)
			if err != nil {
				t.Fatal(err)
			}
			if !f.Binary || !bytes.Equal(f.Data, tt.frame) {
				t.Errorf("re-encoded %x, want %x", f.Data, tt.frame)
			}
		})
	}
}

// TestBinaryFrameLayout pins the exact bytes, big-endian headers included.
func TestBinaryFrameLayout(t *testing.T) {
	t.Parallel()
	meta := PreviewMetadata{NodeID: "3", PromptID: "p", DisplayNodeID: "3", RealNodeID: "3", ImageType: "image/jpeg"}
	withMeta, err := EncodePreviewWithMetadata(meta, []byte{0xff})
	if err != nil {
		t.Fatal(err)
	}
	wantMeta := `{"node_id":"3","prompt_id":"p","display_node_id":"3","parent_node_id":null,"real_node_id":"3","image_type":"image/jpeg"}`
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"type 1", EncodePreview(FormatPNG, []byte{0xaa}), "00000001" + "00000002" + "aa"},
		{"type 3", EncodeText("ab", "hi"), "00000003" + "00000002" + hex.EncodeToString([]byte("abhi"))},
		{"type 4", withMeta, "00000004" + fmt.Sprintf("%08x", len(wantMeta)) + hex.EncodeToString([]byte(wantMeta)) + "ff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hex.EncodeToString(tt.got); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestPreviewUnknownFormatIsJPEG(t *testing.T) {
	t.Parallel()
	ev, err := DecodeBinaryFrame([]byte{0, 0, 0, 1, 0, 0, 0, 7, 0xff})
	if err != nil {
		t.Fatal(err)
	}
	p := ev.(PreviewImage)
	if p.Format != FormatJPEG || p.Format.MIMEType() != "image/jpeg" {
		t.Errorf("format %d (%s), want JPEG", p.Format, p.Format.MIMEType())
	}
}

func TestDecodeBinaryFrameErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		frame   []byte
		wantErr string
	}{
		{"empty", nil, "at least 4"},
		{"short header", []byte{0, 0, 1}, "at least 4"},
		{"type 1 without format", []byte{0, 0, 0, 1, 0, 0}, "no image format"},
		{"type 3 without length", []byte{0, 0, 0, 3}, "no node id length"},
		{"type 3 length past end", []byte{0, 0, 0, 3, 0, 0, 0, 5, 'a'}, "exceeds frame"},
		{"type 3 huge length", []byte{0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff}, "exceeds frame"},
		{"type 3 node id not utf-8", []byte{0, 0, 0, 3, 0, 0, 0, 1, 0xff}, "not UTF-8"},
		{"type 4 without length", []byte{0, 0, 0, 4, 0}, "no metadata length"},
		{"type 4 length past end", []byte{0, 0, 0, 4, 0, 0, 0, 9, '{', '}'}, "exceeds frame"},
		{"type 4 metadata not JSON", append([]byte{0, 0, 0, 4, 0, 0, 0, 2}, "{x"...), "metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeBinaryFrame(tt.frame)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestEncodeMessageRefusesBinary(t *testing.T) {
	t.Parallel()
	if _, err := EncodeMessage(ProgressText{NodeID: "1"}); err == nil {
		t.Fatal("EncodeMessage accepted a binary event")
	}
	if _, err := EncodeFrame(UnknownBinary{Data: []byte{1}}); err == nil {
		t.Fatal("EncodeFrame accepted a 1-byte unknown frame")
	}
}
