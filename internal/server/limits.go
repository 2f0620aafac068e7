package server

import (
	"errors"
	"time"

	"github.com/comfygate/comfygate/internal/bodydeadline"
	"github.com/comfygate/comfygate/internal/comfyapi"
	"github.com/comfygate/comfygate/internal/flaskapi"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/inflight"
)

// RequestLimits bound what one request may hold in memory and how slowly
// it may arrive. The zero value takes the defaults.
type RequestLimits struct {
	// MaxPromptBytes bounds the JSON bodies the ComfyUI-compatible surface
	// reads whole (/prompt and the other JSON routes): 413 beyond.
	// Default DefaultMaxPromptBytes (8 MiB: the memory of one such
	// prompt, decoded, checked and stored, is several times its size).
	MaxPromptBytes int64
	// MaxInFlightBytes is how many bytes of such bodies (JSON bodies of
	// every surface) one API key may have in memory at once; its further
	// requests wait for its earlier ones. It must hold one body of each
	// surface's limit. Default DefaultMaxInFlightBytes (32 MiB).
	MaxInFlightBytes int64
	// ReadHeaderTimeout is how long a client may take to send a request's
	// headers. Default DefaultReadHeaderTimeout (10s).
	ReadHeaderTimeout time.Duration
	// BodyTimeout is the longest a request body may pause; it must also
	// average MinBodyRate once its first BodyTimeout has passed. A body
	// cut off gets a 408 and its connection closed. Default
	// DefaultBodyTimeout (30s).
	BodyTimeout time.Duration
	// MinBodyRate is in bytes a second. Default DefaultMinBodyRate
	// (64 KiB/s: a 100 MiB upload may take 26 minutes).
	MinBodyRate int64
}

// Defaults of RequestLimits.
const (
	DefaultMaxPromptBytes    = comfyapi.DefaultMaxPromptBytes
	DefaultMaxInFlightBytes  = 32 << 20
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultBodyTimeout       = 30 * time.Second
	DefaultMinBodyRate       = 64 << 10
)

func (l RequestLimits) withDefaults() RequestLimits {
	def := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.MaxPromptBytes, DefaultMaxPromptBytes)
	def(&l.MaxInFlightBytes, DefaultMaxInFlightBytes)
	def(&l.MinBodyRate, DefaultMinBodyRate)
	defDur(&l.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	defDur(&l.BodyTimeout, DefaultBodyTimeout)
	return l
}

func (l RequestLimits) validate() error {
	if l.MaxPromptBytes < 0 || l.MaxInFlightBytes < 0 || l.MinBodyRate < 0 || l.ReadHeaderTimeout < 0 || l.BodyTimeout < 0 {
		return errors.New("request limits must not be negative")
	}
	if l.MaxInFlightBytes < max(l.MaxPromptBytes, httpapi.DefaultMaxJSONBytes, flaskapi.DefaultMaxBodyBytes) {
		return errors.New("max in-flight bytes must hold one prompt body (max prompt bytes) and one body of the REST and Flask surfaces (8 MiB)")
	}
	return nil
}

func (l RequestLimits) bodies() bodydeadline.Limits {
	return bodydeadline.Limits{Timeout: l.BodyTimeout, MinRate: l.MinBodyRate}
}

func (l RequestLimits) limiter() *inflight.Limiter { return inflight.New(l.MaxInFlightBytes) }
