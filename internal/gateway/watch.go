package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// maxWorkflowFile bounds a workflow or parameter file read from disk.
const maxWorkflowFile = 8 << 20

// paramSuffixes are the parameter-spec files that may sit beside NAME.json.
var paramSuffixes = []string{".params.json", ".params.yaml", ".params.yml"}

// DirWatcher keeps the stored shared workflows in step with a directory of files:
// NAME.json (an API-format or UI-format graph) with an optional
// NAME.params.json|yaml beside it. Teams keep workflows in git this way and
// deploy them by copying files. A file that fails to parse is logged and
// tried again when it changes; a workflow whose file is removed while the
// watcher runs is deleted.
type DirWatcher struct {
	svc      *Service
	dir      string
	interval time.Duration
	seen     map[string]string // workflow name → fingerprint of its files; owned by the loop
	// unchecked are the names stored before the fleet had a catalog; owned by the loop
	unchecked map[string]bool
	stop      context.CancelFunc
	done      chan struct{}
	once      sync.Once
}

// WatchDir stores every workflow found in dir now, then polls it every
// interval (default 2s) until Close. Polling, rather than inotify, works on
// every filesystem, including network mounts and container volumes.
func (s *Service) WatchDir(ctx context.Context, dir string, interval time.Duration) (*DirWatcher, error) {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("workflows dir: %w", err)
	}
	w := &DirWatcher{svc: s, dir: dir, interval: interval, seen: map[string]string{}, unchecked: map[string]bool{}, done: make(chan struct{})}
	w.scan(ctx)
	loopCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	w.stop = stop
	go w.loop(loopCtx)
	return w, nil
}

// Close stops the watcher and waits for it.
func (w *DirWatcher) Close() {
	w.once.Do(w.stop)
	<-w.done
}

func (w *DirWatcher) loop(ctx context.Context) {
	defer close(w.done)
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.scan(ctx)
		}
	}
}

// scan stores changed workflows and deletes vanished ones.
func (w *DirWatcher) scan(ctx context.Context) {
	found, err := w.list()
	if err != nil {
		w.svc.cfg.Logger.Warn("scan workflows dir", "dir", w.dir, "err", err)
		return
	}
	catalog := w.svc.cfg.Fleet.Catalog() != nil
	for name, print := range found {
		if w.seen[name] == print && (!w.unchecked[name] || !catalog) {
			continue
		}
		warnings, err := w.load(ctx, name)
		if err != nil {
			if w.svc.cfg.Fleet.Catalog() == nil {
				// No backend has answered yet: a UI-format file cannot be
				// converted, and parameters lack their enums. Try again.
				w.svc.cfg.Logger.Debug("workflow file waits for a backend", "workflow", name, "err", err)
				continue
			}
			w.svc.cfg.Logger.Warn("load workflow file", "workflow", name, "err", err)
		} else {
			w.svc.cfg.Logger.Info("loaded workflow file", "workflow", name, "warnings", warnings)
		}
		w.seen[name] = print // a broken file is retried when it changes
		// Stored before any backend reported its catalog: unchecked, and
		// detected without bounds and choices. Stored again once one has.
		w.unchecked[name] = err == nil && slices.Contains(warnings, noCatalogWarning)
	}
	for name := range w.seen {
		if _, ok := found[name]; ok {
			continue
		}
		delete(w.seen, name)
		delete(w.unchecked, name)
		if err := w.svc.DeleteWorkflow(ctx, "", name); err != nil && !errors.Is(err, ErrNotFound) {
			w.svc.cfg.Logger.Warn("delete workflow", "workflow", name, "err", err)
		}
	}
}

// list maps each workflow name in the directory to a fingerprint of its
// files (sizes and modification times).
func (w *DirWatcher) list() (map[string]string, error) {
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return nil, err
	}
	found := map[string]string{}
	for _, e := range entries {
		name, ok := workflowFileName(e.Name())
		if !ok || !e.Type().IsRegular() || !workflowName.MatchString(name) {
			continue
		}
		found[name] = w.fingerprint(name)
	}
	return found, nil
}

// workflowFileName returns NAME for "NAME.json", and false for parameter
// files and everything else.
func workflowFileName(file string) (string, bool) {
	for _, suffix := range paramSuffixes {
		if strings.HasSuffix(file, suffix) {
			return "", false
		}
	}
	name, ok := strings.CutSuffix(file, ".json")
	return name, ok && name != ""
}

func (w *DirWatcher) fingerprint(name string) string {
	var b strings.Builder
	for _, suffix := range append([]string{".json"}, paramSuffixes...) {
		if fi, err := os.Stat(filepath.Join(w.dir, name+suffix)); err == nil {
			fmt.Fprintf(&b, "%s:%d:%d;", suffix, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return b.String()
}

// load stores one workflow from its files and returns the warnings of
// storing it.
func (w *DirWatcher) load(ctx context.Context, name string) ([]string, error) {
	graph, err := readBounded(filepath.Join(w.dir, name+".json"))
	if err != nil {
		return nil, err
	}
	var spec []byte
	for _, suffix := range paramSuffixes {
		spec, err = readBounded(filepath.Join(w.dir, name+suffix))
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	wf, _, err := w.svc.putParts(ctx, "", name, workflowParts{graph: graph, graphField: name + ".json", spec: spec})
	return wf.Warnings, err
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxWorkflowFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxWorkflowFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", filepath.Base(path), maxWorkflowFile)
	}
	return data, nil
}
