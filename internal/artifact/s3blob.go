package artifact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Open implements Store with one HEAD. The content comes later, lazily, by
// ranged GETs from the read position: a Range request served from the
// blob fetches only its range, seeking costs nothing until the next Read,
// and memory stays at the transport's buffers whatever the size.
//
// The blob's reads run under a context derived from ctx (a Read has no
// context of its own): they stop when ctx ends or the blob is closed.
func (s *S3) Open(ctx context.Context, id string) (Blob, error) {
	info, mod, err := s.head(ctx, id)
	if err != nil {
		return nil, err
	}
	bctx, cancel := context.WithCancel(ctx)
	return &s3Blob{s: s, ctx: bctx, cancel: cancel, key: s.key(id), info: info, mod: mod}, nil
}

// s3Blob reads an object through at most one GET at a time, from off to
// the end; a Seek elsewhere drops it and the next Read starts another.
// Like an *os.File, it is not safe for concurrent use.
type s3Blob struct {
	s      *S3
	ctx    context.Context // the blob's lifetime: Open's ctx, ended by Close
	cancel context.CancelFunc
	key    string
	info   Info
	mod    time.Time

	off    int64         // the read position
	body   io.ReadCloser // the GET in progress, positioned at off; nil if none
	closed bool
}

func (b *s3Blob) Info() Info         { return b.info }
func (b *s3Blob) ModTime() time.Time { return b.mod }

func (b *s3Blob) Read(p []byte) (int, error) {
	switch {
	case b.closed:
		return 0, os.ErrClosed
	case b.off >= b.info.Size:
		return 0, io.EOF
	case len(p) == 0:
		return 0, nil
	}
	if b.body == nil {
		if err := b.get(); err != nil {
			return 0, err
		}
	}
	n, err := b.body.Read(p)
	b.off += int64(n)
	switch {
	case err == io.EOF && b.off < b.info.Size:
		b.drop()
		return n, fmt.Errorf("read artifact %s: object ended at %d of %d bytes: %w", b.info.ID, b.off, b.info.Size, io.ErrUnexpectedEOF)
	case err == io.EOF:
		b.drop()
		return n, nil // the next Read says EOF
	case err != nil:
		b.drop()
		return n, fmt.Errorf("read artifact %s: %w", b.info.ID, err)
	}
	return n, nil
}

// get starts a GET of the bytes from off to the end.
func (b *s3Blob) get() error {
	rng := fmt.Sprintf("bytes=%d-", b.off)
	out, err := b.s.client.GetObject(b.ctx, &s3.GetObjectInput{Bucket: &b.s.cfg.Bucket, Key: &b.key, Range: &rng})
	if err != nil {
		return s3Error("read artifact "+b.info.ID, err)
	}
	// A server that ignored the Range would send the object from its
	// start: fine from 0, the wrong bytes from anywhere else.
	got := aws.ToString(out.ContentRange)
	if want := fmt.Sprintf("bytes %d-", b.off); !strings.HasPrefix(got, want) && (b.off != 0 || got != "") {
		out.Body.Close()
		return fmt.Errorf("read artifact %s: asked for %s, got Content-Range %q", b.info.ID, rng, got)
	}
	b.body = out.Body
	return nil
}

// drop ends the GET in progress; net/http closes its connection if the
// body was not read to the end.
func (b *s3Blob) drop() {
	if b.body != nil {
		b.body.Close()
		b.body = nil
	}
}

func (b *s3Blob) Seek(offset int64, whence int) (int64, error) {
	if b.closed {
		return 0, os.ErrClosed
	}
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = b.off + offset
	case io.SeekEnd:
		abs = b.info.Size + offset
	default:
		return 0, fmt.Errorf("seek artifact %s: whence %d: %w", b.info.ID, whence, errors.ErrUnsupported)
	}
	if abs < 0 {
		return 0, fmt.Errorf("seek artifact %s: negative position %d", b.info.ID, abs)
	}
	if abs != b.off {
		b.drop()
		b.off = abs
	}
	return abs, nil
}

func (b *s3Blob) Close() error {
	if b.closed {
		return os.ErrClosed
	}
	b.closed = true
	b.drop()
	b.cancel()
	return nil
}
