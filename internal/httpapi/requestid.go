package httpapi

import (
	"context"
	"crypto/rand"
)

type requestIDKey struct{}

func withRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// incomingRequestID keeps a caller's id when it is short and plain (so a
// proxy's id ties its logs to ours), and makes a fresh one otherwise: the
// id lands in logs and headers, where arbitrary bytes do not belong.
func incomingRequestID(v string) string {
	if len(v) == 0 || len(v) > 128 {
		return rand.Text()
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			return rand.Text()
		}
	}
	return v
}
