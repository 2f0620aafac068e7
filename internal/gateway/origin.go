package gateway

import "context"

// origin says which surface submitted a job. It travels in the context so
// that only server code can set it: a REST caller cannot forge a source
// through the request body.
type origin struct {
	source   string
	clientID string
}

type originKey struct{}

// WithOrigin marks jobs submitted with ctx as coming from a surface other
// than the REST API (job.SourceComfy, job.SourceFlask), with the client id
// that surface answered with.
func WithOrigin(ctx context.Context, source, clientID string) context.Context {
	return context.WithValue(ctx, originKey{}, origin{source: source, clientID: clientID})
}

func originOf(ctx context.Context) (source, clientID string) {
	if o, ok := ctx.Value(originKey{}).(origin); ok && o.source != "" {
		return o.source, o.clientID
	}
	return "", ""
}
