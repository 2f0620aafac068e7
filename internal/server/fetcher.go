package server

import (
	"errors"

	"github.com/comfygate/comfygate/internal/gateway"
)

// newFetcher builds the fetcher of URL inputs; nil refuses them.
func newFetcher(cfg Config) (gateway.Fetcher, error) {
	if !cfg.AllowURLInputs {
		return nil, nil
	}
	return nil, errors.New("URL inputs are not available in this build yet")
}
