package artifact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/sync/errgroup"
)

// Put implements Store.
//
// A blob's key is its hash, known only once the last byte is read, and an
// S3 object cannot be renamed. So Put stages the content in a temp file
// (TempDir) while hashing it, holding one copy buffer in memory whatever
// the size, and then uploads the file under its hash. The other way, a
// multipart upload to a provisional key while hashing, then a server-side
// copy to the final key, needs no local disk but writes every blob twice
// in the bucket, needs a multipart copy past 5 GiB, and leaves provisional
// objects behind after a crash; the temp file also lets Put skip the
// upload of content the bucket already holds.
//
// The upload is one PUT up to PartSize and a multipart upload beyond it,
// signed with the content's SHA-256 where S3 takes one for the whole body,
// so the server checks it stores the bytes that were hashed. It is
// conditional (If-None-Match: *): of concurrent Puts of the same content,
// the first stores it and the others adopt its object, content type
// included. A server without conditional writes keeps the last one, the
// same bytes.
func (s *S3) Put(ctx context.Context, r io.Reader, opts PutOptions) (Info, error) {
	limit, ct, err := checkPut(opts, s.cfg.MaxSize)
	if err != nil {
		return Info{}, err
	}
	f, err := os.CreateTemp(s.cfg.TempDir, s3TempPrefix+"*")
	if err != nil {
		return Info{}, fmt.Errorf("put artifact: %w", err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	head, size, sum, err := copyHashed(ctx, f, r, limit)
	if err != nil {
		return Info{}, fmt.Errorf("put artifact: %w", err)
	}
	if ct == "" {
		ct = detectType(head, opts.Name)
	}
	info := Info{ID: sum, Size: size, ContentType: ct}
	if err := s.publish(ctx, f, &info); err != nil {
		return Info{}, fmt.Errorf("put artifact %s: %w", sum, err)
	}
	return info, nil
}

// publishAttempts bounds how often publish starts over when a concurrent
// Put of the same content is in the way.
const publishAttempts = 3

// publish stores the staged file under info.ID unless the bucket holds it
// already; info becomes the stored blob's.
//
// When an upload fails, publish looks again before it gives up: another
// Put of the same content may have stored it meanwhile. That is what a 412
// (the other Put came first) or a 409 (it is under way) say, but not
// always this clearly: a server may refuse a losing conditional PUT before
// reading its body and close the connection, and the reset hides the 412.
// Any object found under the hash with the right size is the content.
func (s *S3) publish(ctx context.Context, f *os.File, info *Info) error {
	var uploadErr error
	for range publishAttempts {
		existing, err := s.Stat(ctx, info.ID)
		switch {
		case err == nil && existing.Size == info.Size:
			*info = existing
			return nil
		case err == nil:
			// Content-addressed objects never change: this one was damaged
			// (or written around us). The staged copy replaces it.
			s.cfg.Logger.Warn("artifact: replacing damaged blob", "id", info.ID, "size", existing.Size, "want", info.Size)
			return s.upload(ctx, f, *info, false)
		case !errors.Is(err, ErrNotFound):
			return err
		}
		if uploadErr = s.upload(ctx, f, *info, true); uploadErr == nil || ctx.Err() != nil {
			return uploadErr
		}
	}
	return uploadErr
}

// upload writes the staged file to the blob's key; exclusive makes the
// write fail with 412 if the key exists.
func (s *S3) upload(ctx context.Context, f *os.File, info Info, exclusive bool) error {
	if info.Size > s.cfg.PartSize {
		return s.multipart(ctx, f, info, exclusive)
	}
	in := &s3.PutObjectInput{
		Bucket: &s.cfg.Bucket, Key: aws.String(s.key(info.ID)),
		Body: io.NewSectionReader(f, 0, info.Size), ContentLength: aws.Int64(info.Size),
		ContentType: aws.String(info.ContentType),
	}
	if exclusive {
		in.IfNoneMatch = aws.String("*")
	}
	if _, err := s.client.PutObject(ctx, in, withPayloadHash(info.ID)); err != nil {
		return s3Error("upload", err)
	}
	return nil
}

// withPayloadHash signs a request with a body whose SHA-256 we know, which
// spares the SDK a second read of the file to compute it.
func withPayloadHash(sum string) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("comfygate.PayloadHash",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					return next.HandleFinalize(v4.SetPayloadHash(ctx, sum), in)
				}), "ComputePayloadHash", middleware.Before)
		})
	}
}

// partConcurrency is how many parts of one upload are in flight; each
// streams from the file, so it costs connections, not memory.
const partConcurrency = 4

// multipart uploads the staged file in parts. A failed upload is aborted,
// so that the bucket does not keep (and bill) its parts.
func (s *S3) multipart(ctx context.Context, f *os.File, info Info, exclusive bool) error {
	key := s.key(info.ID)
	created, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: &s.cfg.Bucket, Key: &key, ContentType: aws.String(info.ContentType),
	})
	if err != nil {
		return s3Error("start multipart upload", err)
	}
	parts, err := s.uploadParts(ctx, f, info.Size, key, created.UploadId)
	if err == nil {
		in := &s3.CompleteMultipartUploadInput{
			Bucket: &s.cfg.Bucket, Key: &key, UploadId: created.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		}
		if exclusive {
			in.IfNoneMatch = aws.String("*")
		}
		if _, err = s.client.CompleteMultipartUpload(ctx, in); err == nil {
			return nil
		}
		err = s3Error("complete multipart upload", err)
	}
	s.abort(ctx, key, created.UploadId)
	return err
}

// uploadParts sends the file in parts of at least PartSize bytes (more
// when the file needs over 10,000 parts, S3's limit).
func (s *S3) uploadParts(ctx context.Context, f *os.File, size int64, key string, uploadID *string) ([]types.CompletedPart, error) {
	partSize := max(s.cfg.PartSize, (size+maxParts-1)/maxParts)
	parts := make([]types.CompletedPart, (size+partSize-1)/partSize)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(partConcurrency)
	for i := range parts {
		off := int64(i) * partSize
		n := min(partSize, size-off)
		num := aws.Int32(int32(i + 1))
		g.Go(func() error {
			out, err := s.client.UploadPart(gctx, &s3.UploadPartInput{
				Bucket: &s.cfg.Bucket, Key: &key, UploadId: uploadID, PartNumber: num,
				Body: io.NewSectionReader(f, off, n), ContentLength: aws.Int64(n),
			})
			if err != nil {
				return s3Error(fmt.Sprintf("upload part %d", *num), err)
			}
			parts[i] = types.CompletedPart{ETag: out.ETag, PartNumber: num}
			return nil
		})
	}
	return parts, g.Wait()
}

// abort drops an unfinished multipart upload, also when ctx has ended
// (that is often why it failed).
func (s *S3) abort(ctx context.Context, key string, uploadID *string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.cfg.Bucket, Key: &key, UploadId: uploadID})
	if err != nil {
		s.cfg.Logger.Warn("artifact: abort multipart upload (the bucket's lifecycle rules must clean it up)", "key", key, "err", err)
	}
}
