package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/comfygate/comfygate/comfy"
)

// comfyDriver is a typical ComfyUI client: its own socket, POST /prompt,
// the socket until the prompt is done, /history, /view.
type comfyDriver struct {
	r        *runner
	c        *comfy.Client
	clientID string
	ws       *comfy.Conn // nil after a socket error, until the next job redials
}

func newComfyDriver(ctx context.Context, r *runner) (*comfyDriver, error) {
	var opts []comfy.Option
	opts = append(opts, comfy.WithHTTPClient(r.hc))
	if r.cfg.Key != "" {
		opts = append(opts, comfy.WithHeader("Authorization", "Bearer "+r.cfg.Key))
	}
	c, err := comfy.NewClient(r.cfg.Server, opts...)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	d := &comfyDriver{r: r, c: c, clientID: "comfygate-bench-" + hex.EncodeToString(id[:])}
	if err := d.dial(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *comfyDriver) dial(ctx context.Context) error {
	var hdr http.Header
	if d.r.cfg.Key != "" {
		hdr = http.Header{"Authorization": {"Bearer " + d.r.cfg.Key}}
	}
	ws, err := comfy.Dial(ctx, d.r.cfg.Server, d.clientID, comfy.DialOptions{HTTPClient: d.r.hc, Header: hdr})
	if err != nil {
		return fmt.Errorf("bench: socket: %w", err)
	}
	d.ws = ws
	return nil
}

func (d *comfyDriver) close() {
	if d.ws != nil {
		_ = d.ws.Close()
	}
}

func (d *comfyDriver) job(ctx context.Context, n int64) error {
	if d.ws == nil {
		if err := d.dial(ctx); err != nil {
			return err
		}
	}
	g, err := d.r.graph(n)
	if err != nil {
		return err
	}
	resp, err := d.c.QueuePrompt(ctx, comfy.PromptRequest{Prompt: g, ClientID: d.clientID})
	if err != nil {
		return fmt.Errorf("POST /prompt: %w", err)
	}
	if err := d.await(ctx, resp.PromptID); err != nil {
		return err
	}
	h, err := d.c.PromptHistory(ctx, resp.PromptID)
	if err != nil {
		return fmt.Errorf("prompt %s: history: %w", resp.PromptID, err)
	}
	return d.fetchOutputs(ctx, resp.PromptID, h)
}

// await reads the socket until the prompt is done (ComfyUI's "executing"
// with no node), and says whether it failed.
func (d *comfyDriver) await(ctx context.Context, pid string) error {
	var failure error
	for {
		ev, err := d.ws.Read(ctx)
		if err != nil {
			_ = d.ws.CloseNow()
			d.ws = nil
			return fmt.Errorf("prompt %s: socket: %w", pid, err)
		}
		switch e := ev.(type) {
		case comfy.ExecutionError:
			if e.PromptID == pid && !e.Blocked() {
				failure = fmt.Errorf("prompt %s failed in node %s: %s: %s", pid, e.NodeID, e.ExceptionType, e.ExceptionMessage)
			}
		case comfy.ExecutionInterrupted:
			if e.PromptID == pid {
				failure = fmt.Errorf("prompt %s was interrupted", pid)
			}
		case comfy.Executing:
			if e.Done() && e.PromptID == pid {
				return failure
			}
		}
	}
}

// fetchOutputs downloads every file the prompt's history names.
func (d *comfyDriver) fetchOutputs(ctx context.Context, pid string, h comfy.HistoryEntry) error {
	nodes := make([]string, 0, len(h.Outputs))
	for n := range h.Outputs {
		nodes = append(nodes, n)
	}
	slices.Sort(nodes)
	for _, n := range nodes {
		files, err := comfy.NodeOutputFiles(h.Outputs[n])
		if err != nil {
			return fmt.Errorf("prompt %s: outputs of node %s: %w", pid, n, err)
		}
		for _, f := range files {
			if err := d.view(ctx, f.FileRef); err != nil {
				return fmt.Errorf("prompt %s: /view %s: %w", pid, f.Filename, err)
			}
		}
	}
	return nil
}

func (d *comfyDriver) view(ctx context.Context, ref comfy.FileRef) error {
	v, err := d.c.View(ctx, ref, comfy.ViewOptions{})
	if err != nil {
		return err
	}
	defer v.Body.Close()
	_, err = io.Copy(io.Discard, v.Body)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}
