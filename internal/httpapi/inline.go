package httpapi

import (
	"context"
	"fmt"
	"io"

	"github.com/comfygate/comfygate/api"
)

// MaxInlineBytes bounds the outputs of one job put inline (base64 in the
// ?wait= answer and the job.succeeded webhook): 8 MiB of files, about
// 11 MiB of JSON. Past it the outputs stay out and Job.InlineError says so;
// they are downloaded from their url as usual.
const MaxInlineBytes = 8 << 20

// Opener opens a stored output for reading.
type Opener func(ctx context.Context, artifactID string) (io.ReadCloser, error)

// InlineOutputs puts the bytes of j's file outputs into Data when they
// fit in limit together; otherwise it leaves them out and sets
// j.InlineError. Only a succeeded job's outputs are inlined.
func InlineOutputs(ctx context.Context, j *api.Job, open Opener, limit int64) error {
	if j.State != api.StateSucceeded {
		return nil
	}
	var total int64
	for _, o := range j.Outputs {
		total += o.Size
	}
	if total > limit {
		j.InlineError = fmt.Sprintf("the outputs are %d bytes together, over the inline limit of %d bytes; download them from their url", total, limit)
		return nil
	}
	left := limit
	for i := range j.Outputs {
		o := &j.Outputs[i]
		if o.ArtifactID == "" {
			continue
		}
		data, err := readAtMost(ctx, open, o.ArtifactID, left)
		if err != nil {
			return fmt.Errorf("inline output %s: %w", o.ArtifactID, err)
		}
		o.Data, left = data, left-int64(len(data))
	}
	return nil
}

func readAtMost(ctx context.Context, open Opener, id string, n int64) ([]byte, error) {
	rc, err := open(ctx, id)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, n+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > n {
		return nil, fmt.Errorf("larger than its recorded size")
	}
	return data, nil
}
