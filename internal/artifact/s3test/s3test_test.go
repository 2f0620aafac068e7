package s3test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is a testing.TB that records Skipf and Fatalf instead of
// stopping the test.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Skipf(string, ...any)  { r.skipped = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }

func TestUnavailable(t *testing.T) {
	tests := []struct {
		name         string
		ci           string
		err          error
		skip, failed bool
	}{
		{"missing locally", "", ErrNoGateway, true, false},
		{"missing in CI", "true", fmt.Errorf("start: %w", ErrNoGateway), false, true},
		{"broken locally", "", errors.New("versitygw exited"), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			r := &recorder{TB: t}
			Unavailable(r, tt.err)
			if r.skipped != tt.skip || r.failed != tt.failed {
				t.Errorf("skipped %v failed %v, want %v %v", r.skipped, r.failed, tt.skip, tt.failed)
			}
		})
	}
}

func TestFindBinary(t *testing.T) {
	dir, gopath, home := t.TempDir(), t.TempDir(), t.TempDir()
	bin, gopathBin, homeBin := filepath.Join(dir, "versitygw"), filepath.Join(gopath, "bin", "versitygw"), filepath.Join(home, "go", "bin", "versitygw")
	for _, p := range []string{bin, gopathBin, homeBin} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr error
	}{
		{"named by the variable", map[string]string{EnvBinary: bin, "PATH": "", "GOBIN": "", "GOPATH": "", "HOME": t.TempDir()}, bin, nil},
		{"on PATH", map[string]string{EnvBinary: "", "PATH": dir, "GOBIN": "", "GOPATH": "", "HOME": t.TempDir()}, bin, nil},
		{"in GOBIN", map[string]string{EnvBinary: "", "PATH": "", "GOBIN": dir, "GOPATH": "", "HOME": t.TempDir()}, bin, nil},
		{"in GOPATH/bin", map[string]string{EnvBinary: "", "PATH": "", "GOBIN": "", "GOPATH": t.TempDir() + string(os.PathListSeparator) + gopath, "HOME": t.TempDir()}, gopathBin, nil},
		{"in ~/go/bin", map[string]string{EnvBinary: "", "PATH": "", "GOBIN": "", "GOPATH": "", "HOME": home}, homeBin, nil},
		{"nowhere", map[string]string{EnvBinary: "", "PATH": "", "GOBIN": "", "GOPATH": "", "HOME": t.TempDir()}, "", ErrNoGateway},
		{"variable names a missing file", map[string]string{EnvBinary: bin + ".missing"}, "", fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			got, err := findBinary()
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("findBinary() = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// The server answers S3 on its endpoint, and Close leaves neither a
// process nor a file behind.
func TestStartClose(t *testing.T) {
	s, err := Start(context.Background())
	if err != nil {
		Unavailable(t, err)
	}
	pid, dir := s.proc.cmd.Process.Pid, s.proc.dir
	bucket := s.NewBucket(t, nil)
	resp, err := http.Get(s.Endpoint + "/" + bucket)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden { // an unsigned request
		t.Errorf("unsigned GET /%s = %d, want 403", bucket, resp.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("versitygw (pid %d) still there after Close: %v", pid, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("directory %s still there after Close: %v", dir, err)
	}
}
