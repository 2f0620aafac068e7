package artifact

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3Config configures an S3 store. Zero values take the defaults.
type S3Config struct {
	// Bucket holds the blobs. Required; it must exist.
	Bucket string
	// Prefix is prepended to every key, so that one bucket can hold several
	// deployments ("comfygate/prod"). Default: none.
	Prefix string
	// Endpoint is the base URL of an S3-compatible server
	// ("http://127.0.0.1:7070", "https://<account>.r2.cloudflarestorage.com").
	// Default: the SDK's (AWS S3 for the region, or AWS_ENDPOINT_URL_S3).
	Endpoint string
	// Region signs the requests. Default: the SDK's (AWS_REGION, shared
	// config); "us-east-1" when Endpoint is set and none is configured, as
	// most S3-compatible servers accept any region.
	Region string
	// UsePathStyle addresses the bucket in the path (host/bucket/key)
	// rather than the host name (bucket.host/key). Default false, as AWS
	// wants; MinIO, SeaweedFS and Versity usually need true.
	UsePathStyle bool
	// AccessKeyID, SecretAccessKey and SessionToken are static
	// credentials. Default: the SDK's chain (AWS_ACCESS_KEY_ID,
	// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, shared config and
	// credentials files, web identity, instance roles).
	AccessKeyID, SecretAccessKey, SessionToken string

	// MaxSize bounds a Put whose PutOptions.MaxSize is 0. Default 4 GiB.
	MaxSize int64
	// TempDir holds Put's staging files (see Put). It should be on a disk,
	// not a RAM-backed tmpfs, as staged content can be MaxSize bytes.
	// Default os.TempDir().
	TempDir string
	// PartSize is the size of one part of a multipart upload; content
	// larger than this goes up in parts, several at a time. At least 5 MiB
	// (S3's minimum). Default 32 MiB.
	PartSize int64
	// ReadyTTL is how long Ready reuses its last answer, so that readiness
	// probes cost one HeadBucket per TTL at most. Default 2s.
	ReadyTTL time.Duration
	// Logger receives cleanup notes. Default: discard.
	Logger *slog.Logger
}

// Defaults and bounds of S3Config.
const (
	defaultPartSize = 32 << 20
	minPartSize     = 5 << 20
	maxParts        = 10_000 // S3's limit per upload
	defaultReadyTTL = 2 * time.Second
	s3TempPrefix    = "comfygate-s3put-"
	maxPrefixLen    = 512
)

// bucketName is the portable subset of S3 bucket names (what AWS allows
// for new buckets, and what R2, MinIO and Versity accept).
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func (c S3Config) withDefaults() (S3Config, error) {
	if !bucketName.MatchString(c.Bucket) {
		return c, fmt.Errorf("bucket %q: want 3-63 lowercase letters, digits, dots or hyphens", truncate(c.Bucket, 80))
	}
	prefix, err := normalizePrefix(c.Prefix)
	if err != nil {
		return c, err
	}
	c.Prefix = prefix
	if c.PartSize == 0 {
		c.PartSize = defaultPartSize
	}
	if c.PartSize < minPartSize {
		return c, fmt.Errorf("part size %d: S3 needs at least %d bytes", c.PartSize, minPartSize)
	}
	if c.MaxSize <= 0 {
		c.MaxSize = 4 << 30
	}
	if c.TempDir == "" {
		c.TempDir = os.TempDir()
	}
	if c.ReadyTTL <= 0 {
		c.ReadyTTL = defaultReadyTTL
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// normalizePrefix returns the key prefix ending in "/" (or empty): a
// prefix names a folder of the bucket.
func normalizePrefix(p string) (string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return "", nil
	}
	if len(p) > maxPrefixLen {
		return "", fmt.Errorf("prefix: longer than %d bytes", maxPrefixLen)
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsFunc(seg, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return "", fmt.Errorf("prefix %q: want path segments without empty, . or .. parts or control characters", truncate(p, 80))
		}
	}
	return p + "/", nil
}

// S3 stores blobs in an S3-compatible bucket under
// <prefix><ab>/<cd>/<id>, the layout of Local: flat keys would cost
// nothing on AWS, but servers that map keys to a filesystem (Versity's
// posix backend, SeaweedFS's filer) would otherwise put every blob in one
// directory. The content type is the object's Content-Type.
type S3 struct {
	cfg       S3Config
	client    *s3.Client
	presign   *s3.PresignClient
	transport *http.Transport // closed by Close
	ready     readyCache
}

var _ Backend = (*S3)(nil)

// NewS3 returns a store on cfg.Bucket. It sends no request: Ready checks
// the bucket.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("s3 artifact store: %w", err)
	}
	if err := os.MkdirAll(cfg.TempDir, 0o700); err != nil {
		return nil, fmt.Errorf("s3 artifact store: temp dir: %w", err)
	}
	removeStaleTemp(cfg.TempDir, s3TempPrefix, time.Now().Add(-time.Hour), cfg.Logger)
	awsCfg, tr, err := loadAWSConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("s3 artifact store: %w", err)
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.UsePathStyle
	})
	s := &S3{cfg: cfg, client: client, presign: s3.NewPresignClient(client), transport: tr}
	s.ready.ttl = cfg.ReadyTTL
	return s, nil
}

// loadAWSConfig resolves region and credentials the SDK's standard way.
// Checksums are computed and validated only where S3 requires them: the
// newer default (a CRC on every request and response) is not understood
// by every S3-compatible server, and every upload is signed with the
// SHA-256 of its body, which the server checks (see Put).
func loadAWSConfig(ctx context.Context, cfg S3Config) (aws.Config, *http.Transport, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.AccessKeyID != "" || cfg.SecretAccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, nil, err
	}
	if awsCfg.Region == "" {
		if cfg.Endpoint == "" {
			return aws.Config{}, nil, errors.New("no region: set region= in the URL or AWS_REGION")
		}
		awsCfg.Region = "us-east-1"
	}
	tr := newTransport(awsCfg.HTTPClient)
	awsCfg.HTTPClient = &http.Client{Transport: tr, CheckRedirect: noRedirects}
	return awsCfg, tr, nil
}

// newTransport is the connection pool of one store, ours so that Close can
// close it. It starts from the SDK's (which carries AWS_CA_BUNDLE's roots,
// if set). Many requests go to one host, so it keeps more idle connections
// per host than the default; the response header timeout stops a server
// that takes a request and never answers from hanging a call whose
// context has no deadline.
func newTransport(sdk aws.HTTPClient) *http.Transport {
	var tr *http.Transport
	if bc, ok := sdk.(*awshttp.BuildableClient); ok {
		tr = bc.GetTransport()
	} else {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	tr.MaxIdleConns = 256
	tr.MaxIdleConnsPerHost = 64
	tr.IdleConnTimeout = 90 * time.Second
	tr.ResponseHeaderTimeout = 2 * time.Minute
	return tr
}

// noRedirects hands a 3xx to the SDK, which reports it: a signed request
// cannot be replayed to another host (S3 redirects for a wrong region).
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Close implements Backend.
func (s *S3) Close() error {
	s.transport.CloseIdleConnections()
	return nil
}

// key returns the object key of a valid id.
func (s *S3) key(id string) string {
	return s.cfg.Prefix + id[0:2] + "/" + id[2:4] + "/" + id
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, id string) (Info, error) {
	info, _, err := s.head(ctx, id)
	return info, err
}

// head returns the blob's Info and modification time.
func (s *S3) head(ctx context.Context, id string) (Info, time.Time, error) {
	if err := checkID(id); err != nil {
		return Info{}, time.Time{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.cfg.Bucket, Key: aws.String(s.key(id))})
	if err != nil {
		return Info{}, time.Time{}, s3Error("artifact "+id, err)
	}
	info := Info{ID: id, Size: aws.ToInt64(out.ContentLength), ContentType: storedType(aws.ToString(out.ContentType))}
	return info, aws.ToTime(out.LastModified), nil
}

// storedType is an object's Content-Type as Info reports it: a type set
// outside comfygate that does not parse is generic binary, as in Local.
func storedType(ct string) string {
	if _, _, err := mime.ParseMediaType(ct); err != nil || len(ct) > maxTypeLen {
		return octetStream
	}
	return ct
}

// Exists implements Store.
func (s *S3) Exists(ctx context.Context, id string) (bool, error) {
	_, err := s.Stat(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Delete implements Store. S3 answers a delete of a missing key with
// success, which is the contract too.
func (s *S3) Delete(ctx context.Context, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.cfg.Bucket, Key: aws.String(s.key(id))})
	if err != nil && !errors.Is(s3Error("", err), ErrNotFound) {
		return s3Error("delete artifact "+id, err)
	}
	return nil
}

// Ready implements Backend with a HeadBucket, whose answer is kept for
// ReadyTTL.
func (s *S3) Ready(ctx context.Context) error {
	return s.ready.get(ctx, func(ctx context.Context) error {
		_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.cfg.Bucket})
		switch {
		case err == nil:
			return nil
		case status(err) == http.StatusNotFound:
			return fmt.Errorf("bucket %q does not exist", s.cfg.Bucket)
		}
		return s3Error("bucket "+s.cfg.Bucket, err)
	})
}

// readyCache keeps the last answer of a probe for ttl. Callers that come
// while a probe runs wait for it and share its answer, so a burst of
// readiness checks costs one request.
type readyCache struct {
	ttl time.Duration

	mu      sync.Mutex    // guards the fields below
	at      time.Time     // when err was found; zero before the first answer
	err     error         // the last answer
	running chan struct{} // closed when the probe in flight ends; nil if none
}

func (c *readyCache) get(ctx context.Context, probe func(context.Context) error) error {
	for {
		c.mu.Lock()
		if !c.at.IsZero() && time.Since(c.at) < c.ttl {
			err := c.err
			c.mu.Unlock()
			return err
		}
		running := c.running
		if running == nil {
			c.running = make(chan struct{})
			c.mu.Unlock()
			return c.run(ctx, probe)
		}
		c.mu.Unlock()
		select {
		case <-running: // look again: its answer, or our turn to probe
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// run probes and records the answer, unless the caller gave up, which says
// nothing about the storage. A probe that ran out of time did say
// something: it is recorded.
func (c *readyCache) run(ctx context.Context, probe func(context.Context) error) error {
	err := probe(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !errors.Is(ctx.Err(), context.Canceled) {
		c.at, c.err = time.Now(), err
	}
	close(c.running)
	c.running = nil
	return err
}
