package server

import (
	"fmt"

	"github.com/comfygate/comfygate/internal/safefetch"
)

// newFetcher builds the fetcher of URL inputs, or nil when they are off.
func newFetcher(cfg Config) (*safefetch.Fetcher, error) {
	if !cfg.AllowURLInputs {
		return nil, nil
	}
	f, err := safefetch.New(safefetch.Config{
		AllowedHosts: cfg.AllowedHosts, AllowPrivate: cfg.AllowPrivateURLs, MaxBytes: cfg.MaxUploadBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("url inputs: %w", err)
	}
	return f, nil
}
