// Command webhook-receiver prints the webhooks comfygate sends, after
// checking each one's signature with the Standard Webhooks library, as any
// receiver should. It is the receiver of the README's tour:
//
//	go run ./examples/webhook-receiver [-listen 127.0.0.1:9000] [-server http://127.0.0.1:8080] [-secret whsec_…]
//
// Without -secret it asks the server for its signing secret
// (GET /v1/webhooks/secret, with $COMFYGATE_KEY as the API key if set).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9000", "address to receive webhooks on")
	server := flag.String("server", "http://127.0.0.1:8080", "comfygate, to read the signing secret from")
	secret := flag.String("secret", "", "the whsec_ secret (default: read from the server)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *listen, *server, *secret); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, listen, server, secret string) error {
	if secret == "" {
		var err error
		if secret, err = fetchSecret(ctx, server); err != nil {
			return err
		}
	}
	h, err := newHandler(secret, os.Stdout)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: listen, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	fmt.Printf("receiving webhooks on http://%s/ (Ctrl-C to stop)\n", listen)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// fetchSecret reads the server's signing secret (an admin route).
func fetchSecret(ctx context.Context, server string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+"/v1/webhooks/secret", nil)
	if err != nil {
		return "", err
	}
	if key := os.Getenv("COMFYGATE_KEY"); key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("read the secret from %s: %w", server, err)
	}
	defer resp.Body.Close()
	var body struct {
		Secret string `json:"secret"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil {
		return "", fmt.Errorf("read the secret from %s: %s", server, resp.Status)
	}
	return body.Secret, nil
}

// newHandler verifies each request and prints what it tells.
func newHandler(secret string, out io.Writer) (http.Handler, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if err := wh.Verify(body, r.Header); err != nil {
			fmt.Fprintf(out, "refused a request: %v\n", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var msg struct {
			Type string `json:"type"`
			Data struct {
				ID      string            `json:"id"`
				State   string            `json:"state"`
				Outputs []json.RawMessage `json:"outputs"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &msg)
		fmt.Fprintf(out, "%s %s: job %s, %d outputs (signature verified, webhook-id %s)\n",
			msg.Type, msg.Data.State, msg.Data.ID, len(msg.Data.Outputs), r.Header.Get("webhook-id"))
		w.WriteHeader(http.StatusNoContent)
	}), nil
}
