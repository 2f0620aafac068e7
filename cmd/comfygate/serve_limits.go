package main

import (
	"time"

	"github.com/peterbourgon/ff/v4"

	"github.com/comfygate/comfygate/internal/server"
)

// requestFlags are the request limits of serve and demo
// (server.RequestLimits).
type requestFlags struct {
	maxPromptMB, maxInFlightMB     int
	readHeaderTimeout, bodyTimeout time.Duration
	minBodyRate                    int
}

func defaultRequestFlags() requestFlags {
	return requestFlags{
		maxPromptMB: server.DefaultMaxPromptBytes >> 20, maxInFlightMB: server.DefaultMaxInFlightBytes >> 20,
		readHeaderTimeout: server.DefaultReadHeaderTimeout, bodyTimeout: server.DefaultBodyTimeout,
		minBodyRate: server.DefaultMinBodyRate,
	}
}

func (r *requestFlags) define(fs *ff.FlagSet, d requestFlags) {
	fs.IntVar(&r.maxPromptMB, 0, "max-prompt-mb", d.maxPromptMB, "largest JSON body of the ComfyUI-compatible API (POST /prompt and the like) in MiB")
	fs.IntVar(&r.maxInFlightMB, 0, "max-inflight-mb", d.maxInFlightMB, "MiB of JSON request bodies one API key may have in memory at once; its further requests wait")
	fs.DurationVar(&r.readHeaderTimeout, 0, "read-header-timeout", d.readHeaderTimeout, "how long a client may take to send a request's headers")
	fs.DurationVar(&r.bodyTimeout, 0, "body-timeout", d.bodyTimeout, "longest pause in a request body; slower clients get 408")
	fs.IntVar(&r.minBodyRate, 0, "min-body-rate", d.minBodyRate, "slowest average a request body may arrive at, in bytes a second, once its first --body-timeout has passed")
}

func (r *requestFlags) config() server.RequestLimits {
	return server.RequestLimits{
		MaxPromptBytes: int64(r.maxPromptMB) << 20, MaxInFlightBytes: int64(r.maxInFlightMB) << 20,
		ReadHeaderTimeout: r.readHeaderTimeout, BodyTimeout: r.bodyTimeout, MinBodyRate: int64(r.minBodyRate),
	}
}
