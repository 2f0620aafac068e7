package webhook

import (
	"context"
	"net/http"

	"github.com/comfygate/comfygate/internal/job"
)

// nilStore and nilDoer fill a Config where a test needs none.
type nilStore struct{ job.WebhookStore }

type nilDoer struct{}

func (nilDoer) Do(*http.Request) (*http.Response, error) { return nil, context.Canceled }
