package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/client"
)

// maxNameBytes bounds a saved file's name (file systems take 255).
const maxNameBytes = 200

// saveOutputs writes every output of job into dir and returns the paths.
// Files are created through an os.Root, never replace an existing file
// (a name taken gets a -1, -2 … suffix), and a failed download leaves
// nothing behind.
func saveOutputs(ctx context.Context, c *client.Client, dir string, job api.Job) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	defer root.Close()
	var paths []string
	for i, o := range job.Outputs {
		name, err := saveOutput(ctx, c, root, i, o)
		if err != nil {
			return paths, fmt.Errorf("save output %d of node %s: %w", i, o.NodeID, err)
		}
		if name != "" {
			paths = append(paths, filepath.Join(dir, name))
		}
	}
	return paths, nil
}

func saveOutput(ctx context.Context, c *client.Client, root *os.Root, i int, o api.Output) (string, error) {
	if o.ArtifactID == "" {
		if o.Text == "" {
			return "", nil // nothing stored
		}
		name := fallbackName(o, i, "text/plain")
		return writeUnique(root, safeName(o.Filename, name), strings.NewReader(o.Text))
	}
	d, err := c.DownloadArtifact(ctx, o.ArtifactID)
	if err != nil {
		return "", err
	}
	defer d.Close()
	name := safeName(o.Filename, safeName(d.Filename, fallbackName(o, i, d.ContentType)))
	return writeUnique(root, name, d)
}

// fallbackName names an output the server gave no usable name for.
func fallbackName(o api.Output, i int, contentType string) string {
	ext := ".bin"
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		if e := preferredExt(mt); e != "" {
			ext = e
		} else if exts, _ := mime.ExtensionsByType(mt); len(exts) > 0 {
			ext = exts[0]
		}
	}
	return safeName(fmt.Sprintf("output-%s-%d%s", o.NodeID, i, ext), fmt.Sprintf("output-%d%s", i, ext))
}

// preferredExt overrides the first of mime's extensions (".jfif" for JPEG).
func preferredExt(mediaType string) string {
	switch mediaType {
	case "image/jpeg":
		return ".jpg"
	case "text/plain":
		return ".txt"
	}
	return ""
}

// safeName makes a name from the server safe to create in the output
// directory: the base name only (both separators), no control or
// reserved characters, no leading dots (no "..", no hidden files), a
// bounded length. It returns fallback when nothing usable is left.
func safeName(name, fallback string) string {
	name = name[strings.LastIndexAny(name, `/\`)+1:]
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`<>:"|?*`, r) {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimSpace(strings.TrimLeft(name, ". "))
	if len(name) > maxNameBytes {
		ext := filepath.Ext(name)
		if len(ext) > 16 {
			ext = ""
		}
		name = strings.ToValidUTF8(name[:maxNameBytes-len(ext)], "") + ext
	}
	if name == "" || !filepath.IsLocal(name) || filepath.Base(name) != name {
		return fallback
	}
	return name
}

// writeUnique copies r into a new file named name, or name-1, name-2 …
// when that is taken, and returns the name used.
func writeUnique(root *os.Root, name string, r io.Reader) (string, error) {
	f, used, err := createUnique(root, name)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		root.Remove(used)
		return "", err
	}
	if err := f.Close(); err != nil {
		root.Remove(used)
		return "", err
	}
	return used, nil
}

func createUnique(root *os.Root, name string) (*os.File, string, error) {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for n := 0; n < 1000; n++ {
		try := name
		if n > 0 {
			try = stem + "-" + strconv.Itoa(n) + ext
		}
		f, err := root.OpenFile(try, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, try, err
	}
	return nil, "", fmt.Errorf("%s: 1000 files of that name exist already", name)
}
