package artifact

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Presigner is a Store that hands out download URLs which go to the storage
// directly, so that large blobs need not pass through comfygate. Whoever
// holds such a URL can download the blob until it expires.
type Presigner interface {
	PresignGet(ctx context.Context, id string, opts PresignOptions) (string, error)
}

// PresignOptions shape a presigned download.
type PresignOptions struct {
	// Expires is how long the URL works. At most 7 days (SigV4's limit).
	// Default 15 minutes.
	Expires time.Duration
	// Name is the download file name hint, as for Serve. Default: none.
	Name string
}

// Bounds of PresignOptions.Expires.
const (
	defaultPresignExpiry = 15 * time.Minute
	maxPresignExpiry     = 7 * 24 * time.Hour
)

var _ Presigner = (*S3)(nil)

// PresignGet implements Presigner. The URL makes the bucket answer with
// the headers Serve would send: the content type (active types as opaque
// bytes) and a Content-Disposition with a safe file name. It checks that
// the blob exists, so a missing one is ErrNotFound rather than a URL that
// fails later.
func (s *S3) PresignGet(ctx context.Context, id string, opts PresignOptions) (string, error) {
	if opts.Expires == 0 {
		opts.Expires = defaultPresignExpiry
	}
	if opts.Expires < 0 || opts.Expires > maxPresignExpiry {
		return "", fmt.Errorf("presign artifact %s: expiry %v: want more than 0 and at most %v", id, opts.Expires, maxPresignExpiry)
	}
	info, err := s.Stat(ctx, id)
	if err != nil {
		return "", err
	}
	ct, inline := servingType(info.ContentType)
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{
		Bucket: &s.cfg.Bucket, Key: aws.String(s.key(id)),
		ResponseContentType:        aws.String(ct),
		ResponseContentDisposition: aws.String(disposition(inline, SafeFilename(opts.Name, id))),
		ResponseCacheControl:       aws.String("private, max-age=31536000, immutable"),
	}, s3.WithPresignExpires(opts.Expires))
	if err != nil {
		return "", fmt.Errorf("presign artifact %s: %w", id, err)
	}
	return req.URL, nil
}
