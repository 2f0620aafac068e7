package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/comfygate/comfygate/internal/server"
)

// backendOptions are the settings a --backend value may carry after its
// URL, each as ",key=value".
var backendOptions = map[string]func(b *server.BackendConfig, value string) error{
	"output_dir": func(b *server.BackendConfig, dir string) error {
		if !filepath.IsAbs(dir) {
			return fmt.Errorf("output_dir %q: want an absolute path", dir)
		}
		b.OutputDir = dir
		return nil
	},
}

// parseBackends reads the --backend values: "URL" or "id=URL", each
// followed by its options ("http://127.0.0.1:8188,output_dir=/srv/comfy/output").
// multiFlag split the values on commas already, so an option belongs to
// the backend before it.
func parseBackends(items []string) ([]server.BackendConfig, error) {
	var out []server.BackendConfig
	for _, item := range items {
		key, value, _ := strings.Cut(item, "=")
		if set, ok := backendOptions[key]; ok {
			if len(out) == 0 {
				return nil, fmt.Errorf("--backend %q: an option must follow a URL, as in http://127.0.0.1:8188,%s", item, item)
			}
			if err := set(&out[len(out)-1], value); err != nil {
				return nil, fmt.Errorf("--backend %s: %w", out[len(out)-1].URL, err)
			}
			continue
		}
		id, url, ok := strings.Cut(item, "=")
		if !ok {
			id, url = "", item
		}
		if err := checkBaseURL(url); err != nil {
			return nil, fmt.Errorf("--backend %q: %w", item, err)
		}
		out = append(out, server.BackendConfig{ID: id, URL: url})
	}
	return out, nil
}
