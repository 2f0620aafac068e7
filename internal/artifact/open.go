package artifact

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// OpenOptions configure Open. Zero values take the defaults.
type OpenOptions struct {
	// Dir is the directory of the local store when the location is empty.
	// Required then.
	Dir string
	// TempDir holds an S3 store's staging files; see S3Config.TempDir.
	// Default os.TempDir().
	TempDir string
	// MaxSize bounds a Put whose PutOptions.MaxSize is 0. Default 4 GiB.
	MaxSize int64
	// Logger receives the store's notes. Default: discard.
	Logger *slog.Logger
}

// Open opens the artifact store at location:
//
//   - "" — a local store in opts.Dir;
//   - a directory path, or file:///path — a local store there;
//   - s3://BUCKET[/PREFIX][?endpoint=URL&region=R&use_path_style=true] — an
//     S3 store, with credentials from the SDK's standard sources
//     (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
//     AWS_PROFILE and the shared config files, instance roles) and the
//     region from region= or AWS_REGION.
//
// A bad location is an error that names the part at fault; nothing is
// contacted before it is checked.
func Open(ctx context.Context, location string, opts OpenOptions) (Backend, error) {
	switch {
	case location == "":
		if opts.Dir == "" {
			return nil, errors.New("artifacts: no location and no default directory")
		}
		return NewLocal(opts.Dir, LocalOptions{MaxSize: opts.MaxSize, Logger: opts.Logger})
	case strings.HasPrefix(location, "s3://"):
		cfg, err := ParseS3URL(location)
		if err != nil {
			return nil, err
		}
		cfg.TempDir, cfg.MaxSize, cfg.Logger = opts.TempDir, opts.MaxSize, opts.Logger
		return NewS3(ctx, cfg)
	case strings.HasPrefix(location, "file://"):
		u, err := url.Parse(location)
		if err != nil || (u.Host != "" && u.Host != "localhost") || u.Path == "" || u.RawQuery != "" {
			return nil, fmt.Errorf("artifacts %q: want file:///absolute/path", location)
		}
		return NewLocal(filepath.FromSlash(u.Path), LocalOptions{MaxSize: opts.MaxSize, Logger: opts.Logger})
	case strings.Contains(location, "://"):
		scheme, _, _ := strings.Cut(location, "://")
		return nil, fmt.Errorf("artifacts %q: unsupported scheme %q: want a directory or s3://BUCKET/PREFIX", truncate(location, 80), truncate(scheme, 20))
	default:
		return NewLocal(location, LocalOptions{MaxSize: opts.MaxSize, Logger: opts.Logger})
	}
}

// s3Params are the query parameters an s3:// URL may carry.
var s3Params = []string{"endpoint", "region", "use_path_style"}

// ParseS3URL reads s3://BUCKET[/PREFIX][?endpoint=URL&region=R&use_path_style=BOOL]
// into a config without credentials (Open leaves them to the SDK). Unknown
// parameters are errors, so that a misspelt one is not silently ignored.
func ParseS3URL(raw string) (S3Config, error) {
	fail := func(format string, args ...any) (S3Config, error) {
		return S3Config{}, fmt.Errorf("artifacts %q: %s", redact(raw), fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fail("not a URL: %v", errors.Unwrap(err))
	case u.Scheme != "s3":
		return fail("want scheme s3://")
	case u.User != nil:
		return fail("credentials do not belong in the URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	case u.Host == "":
		return fail("no bucket: want s3://BUCKET/PREFIX")
	case u.Fragment != "":
		return fail("unexpected #fragment")
	}
	cfg := S3Config{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}
	q := u.Query()
	for name := range q {
		if !slices.Contains(s3Params, name) {
			return fail("unknown parameter %q: want %s", truncate(name, 40), strings.Join(s3Params, ", "))
		}
		if len(q[name]) > 1 {
			return fail("parameter %q given %d times", name, len(q[name]))
		}
	}
	cfg.Region = q.Get("region")
	if ep := q.Get("endpoint"); ep != "" {
		if err := checkEndpoint(ep); err != nil {
			return fail("endpoint: %v", err)
		}
		cfg.Endpoint = ep
	}
	if v := q.Get("use_path_style"); v != "" {
		if cfg.UsePathStyle, err = strconv.ParseBool(v); err != nil {
			return fail("use_path_style %q: want true or false", truncate(v, 20))
		}
	}
	if _, err := cfg.withDefaults(); err != nil {
		return fail("%v", err)
	}
	return cfg, nil
}

// checkEndpoint accepts http(s)://host[:port] with nothing after it: the
// SDK appends the bucket and key to the path itself.
func checkEndpoint(ep string) error {
	u, err := url.Parse(ep)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL", truncate(ep, 80))
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: want http:// or https://", truncate(ep, 80))
	case u.Host == "":
		return fmt.Errorf("%q: no host", truncate(ep, 80))
	case u.User != nil:
		return errors.New("credentials do not belong in the URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	case strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q: want scheme and host[:port] only", truncate(ep, 80))
	}
	return nil
}

// redact keeps a location's shape for an error message without any
// credentials someone put in it.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return truncate(raw, 200)
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	q := u.Query()
	if ep, err := url.Parse(q.Get("endpoint")); err == nil && ep.User != nil {
		ep.User = url.User("REDACTED")
		q.Set("endpoint", ep.String())
		u.RawQuery = q.Encode()
	}
	return truncate(u.String(), 200)
}
