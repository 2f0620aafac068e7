package comfy

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Binary frame types: the first big-endian uint32 of every binary frame.
// Type 2 (unencoded preview) is internal to ComfyUI and never sent.
const (
	BinaryPreviewImage             uint32 = 1
	BinaryText                     uint32 = 3
	BinaryPreviewImageWithMetadata uint32 = 4
)

// Event types reported by binary events' EventType. They follow the names the
// official frontend dispatches.
const (
	EventBinaryPreview             = "b_preview"
	EventBinaryPreviewWithMetadata = "b_preview_with_metadata"
	EventBinaryText                = "progress_text"
	EventBinaryUnknown             = "b_unknown"
)

// ImageFormat is the image format field of a type-1 preview frame.
type ImageFormat uint32

// Image formats of a type-1 preview. ComfyUI sends 1 for anything it does not
// know, and readers treat unknown values as JPEG.
const (
	FormatJPEG ImageFormat = 1
	FormatPNG  ImageFormat = 2
)

// MIMEType returns the media type of the format (JPEG for unknown values).
func (f ImageFormat) MIMEType() string {
	if f == FormatPNG {
		return "image/png"
	}
	return "image/jpeg"
}

// maxMetadataLen bounds the JSON metadata of a type-4 frame; real metadata is a
// few hundred bytes.
const maxMetadataLen = 1 << 20

// PreviewImage is a type-1 binary frame: an image with no prompt or node id
// (attribute it to the running prompt). Format is normalised: unknown
// values become FormatJPEG.
type PreviewImage struct {
	Format ImageFormat
	Image  []byte
}

// PreviewMetadata is the JSON block of a type-4 frame.
type PreviewMetadata struct {
	NodeID        string  `json:"node_id"`
	PromptID      string  `json:"prompt_id"`
	DisplayNodeID string  `json:"display_node_id"`
	ParentNodeID  *string `json:"parent_node_id"`
	RealNodeID    string  `json:"real_node_id"`
	ImageType     string  `json:"image_type"`
}

// PreviewImageWithMetadata is a type-4 binary frame, sent instead of type 1 to
// clients that negotiated supports_preview_metadata.
type PreviewImageWithMetadata struct {
	Meta  PreviewMetadata
	Image []byte
}

// ProgressText is a type-3 binary frame: text shown on a node. It is broadcast
// and carries no prompt id.
type ProgressText struct {
	NodeID string
	Text   string
}

// UnknownBinary is a binary frame of a type this package does not know. Data
// is the whole frame, header included.
type UnknownBinary struct {
	Type uint32
	Data []byte
}

func (PreviewImage) EventType() string             { return EventBinaryPreview }
func (PreviewImageWithMetadata) EventType() string { return EventBinaryPreviewWithMetadata }
func (ProgressText) EventType() string             { return EventBinaryText }
func (UnknownBinary) EventType() string            { return EventBinaryUnknown }

// binaryEvent is implemented by events that travel as binary frames.
type binaryEvent interface {
	Event
	encodeBinary() ([]byte, error)
}

func (p PreviewImage) encodeBinary() ([]byte, error) { return EncodePreview(p.Format, p.Image), nil }
func (p PreviewImageWithMetadata) encodeBinary() ([]byte, error) {
	return EncodePreviewWithMetadata(p.Meta, p.Image)
}
func (p ProgressText) encodeBinary() ([]byte, error) { return EncodeText(p.NodeID, p.Text), nil }
func (u UnknownBinary) encodeBinary() ([]byte, error) {
	if len(u.Data) < 4 {
		return nil, errors.New("unknown binary frame shorter than 4 bytes")
	}
	return u.Data, nil
}

// DecodeBinaryFrame decodes one binary WebSocket frame. Image and text fields
// alias data.
func DecodeBinaryFrame(data []byte) (Event, error) {
	if len(data) < 4 {
		return nil, fmt.Errorf("binary frame: %w: %d bytes, want at least 4", ErrMalformed, len(data))
	}
	typ := binary.BigEndian.Uint32(data)
	body := data[4:]
	switch typ {
	case BinaryPreviewImage:
		return decodePreview(body)
	case BinaryText:
		return decodeText(body)
	case BinaryPreviewImageWithMetadata:
		return decodePreviewWithMetadata(body)
	}
	return UnknownBinary{Type: typ, Data: data}, nil
}

func decodePreview(body []byte) (Event, error) {
	if len(body) < 4 {
		return nil, fmt.Errorf("preview frame: %w: no image format", ErrMalformed)
	}
	f := ImageFormat(binary.BigEndian.Uint32(body))
	if f != FormatPNG {
		f = FormatJPEG
	}
	return PreviewImage{Format: f, Image: body[4:]}, nil
}

func decodeText(body []byte) (Event, error) {
	if len(body) < 4 {
		return nil, fmt.Errorf("text frame: %w: no node id length", ErrMalformed)
	}
	n := binary.BigEndian.Uint32(body)
	if uint64(n) > uint64(len(body)-4) {
		return nil, fmt.Errorf("text frame: %w: node id length %d exceeds frame", ErrMalformed, n)
	}
	id, text := body[4:4+n], body[4+n:]
	if !utf8.Valid(id) {
		return nil, fmt.Errorf("text frame: %w: node id is not UTF-8", ErrMalformed)
	}
	return ProgressText{NodeID: string(id), Text: string(text)}, nil
}

func decodePreviewWithMetadata(body []byte) (Event, error) {
	if len(body) < 4 {
		return nil, fmt.Errorf("preview metadata frame: %w: no metadata length", ErrMalformed)
	}
	n := binary.BigEndian.Uint32(body)
	if n > maxMetadataLen || uint64(n) > uint64(len(body)-4) {
		return nil, fmt.Errorf("preview metadata frame: %w: metadata length %d exceeds frame or limit", ErrMalformed, n)
	}
	var meta PreviewMetadata
	if err := json.Unmarshal(body[4:4+n], &meta); err != nil {
		return nil, fmt.Errorf("preview metadata frame: %w: metadata: %v", ErrMalformed, err)
	}
	return PreviewImageWithMetadata{Meta: meta, Image: body[4+n:]}, nil
}

// EncodePreview builds a type-1 frame.
func EncodePreview(format ImageFormat, img []byte) []byte {
	out := make([]byte, 8, 8+len(img))
	binary.BigEndian.PutUint32(out, BinaryPreviewImage)
	binary.BigEndian.PutUint32(out[4:], uint32(format))
	return append(out, img...)
}

// EncodePreviewWithMetadata builds a type-4 frame.
func EncodePreviewWithMetadata(meta PreviewMetadata, img []byte) ([]byte, error) {
	m, err := json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("encode preview metadata: %w", err)
	}
	out := make([]byte, 8, 8+len(m)+len(img))
	binary.BigEndian.PutUint32(out, BinaryPreviewImageWithMetadata)
	binary.BigEndian.PutUint32(out[4:], uint32(len(m)))
	out = append(out, m...)
	return append(out, img...), nil
}

// EncodeText builds a type-3 frame.
func EncodeText(nodeID, text string) []byte {
	out := make([]byte, 8, 8+len(nodeID)+len(text))
	binary.BigEndian.PutUint32(out, BinaryText)
	binary.BigEndian.PutUint32(out[4:], uint32(len(nodeID)))
	out = append(out, nodeID...)
	return append(out, text...)
}

// Frame is one encoded WebSocket frame.
type Frame struct {
	Binary bool
	Data   []byte
}

// EncodeFrame encodes any event: JSON events as text frames, binary events as
// binary frames.
func EncodeFrame(ev Event) (Frame, error) {
	if b, ok := ev.(binaryEvent); ok {
		data, err := b.encodeBinary()
		if err != nil {
			return Frame{}, fmt.Errorf("encode %s frame: %w", ev.EventType(), err)
		}
		return Frame{Binary: true, Data: data}, nil
	}
	data, err := EncodeMessage(ev)
	if err != nil {
		return Frame{}, err
	}
	return Frame{Data: data}, nil
}

// DecodeFrame decodes a text (binary=false) or binary frame.
func DecodeFrame(f Frame) (Event, error) {
	if f.Binary {
		return DecodeBinaryFrame(f.Data)
	}
	return DecodeMessage(f.Data)
}
