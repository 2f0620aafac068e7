package s3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is a versitygw serving dir/root on a loopback port.
type process struct {
	dir  string // holds root/ and the server's log
	root string // the posix backend's top directory: one directory per bucket
	port int
	cmd  *exec.Cmd
	done chan error // receives the server's exit
}

func (p *process) endpoint() string { return "http://127.0.0.1:" + strconv.Itoa(p.port) }

// findBinary looks where `go install` puts versitygw as well as on PATH,
// so that tests and .ci/run agree whatever PATH the test runs with.
func findBinary() (string, error) {
	if bin := os.Getenv(EnvBinary); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("s3test: %s: %w", EnvBinary, err)
		}
		return bin, nil
	}
	if bin, err := exec.LookPath("versitygw"); err == nil {
		return bin, nil
	}
	for _, dir := range installDirs() {
		bin := filepath.Join(dir, "versitygw")
		if st, err := os.Stat(bin); err == nil && !st.IsDir() {
			return bin, nil
		}
	}
	return "", ErrNoGateway
}

// installDirs are where `go install` may have put a binary.
func installDirs() []string {
	var dirs []string
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	for gopath := range strings.SplitSeq(os.Getenv("GOPATH"), string(os.PathListSeparator)) {
		if gopath != "" {
			dirs = append(dirs, filepath.Join(gopath, "bin"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	return dirs
}

// startAttempts bounds retries when another process takes the free port
// between our probe and the server's bind.
const startAttempts = 3

func startProcess(ctx context.Context, bin string) (*process, error) {
	dir, err := os.MkdirTemp("", "comfygate-s3-")
	if err != nil {
		return nil, fmt.Errorf("s3test: %w", err)
	}
	var errs []error
	for range startAttempts {
		p := &process{dir: dir, root: filepath.Join(dir, "root"), done: make(chan error, 1)}
		err := p.start(ctx, bin)
		if err == nil {
			return p, nil
		}
		errs = append(errs, err, p.kill())
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, errors.Join(append(errs, os.RemoveAll(dir))...)
}

func (p *process) start(ctx context.Context, bin string) error {
	if err := os.MkdirAll(p.root, 0o755); err != nil {
		return fmt.Errorf("s3test: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	p.port = port
	logf, err := os.Create(filepath.Join(p.dir, "versitygw.log"))
	if err != nil {
		return fmt.Errorf("s3test: %w", err)
	}
	defer logf.Close()
	p.cmd = exec.Command(bin,
		"--access", AccessKey, "--secret", SecretKey, "--region", Region,
		"--port", "127.0.0.1:"+strconv.Itoa(port), "--quiet", "--keep-alive",
		"posix", p.root)
	// Only what it needs: the gateway reads many settings from the
	// environment (VGW_*, ROOT_ACCESS_KEY, …), and a developer's must not
	// change the server under test.
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + p.dir}
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("s3test: start versitygw: %w", err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	return p.waitReady(ctx, 30*time.Second)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("s3test: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls until the server answers HTTP (any status: an unsigned
// request is refused, which proves it listens), it exits, or the deadline
// passes.
func (p *process) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Second}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(p.endpoint() + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case exit := <-p.done:
			p.done <- exit // for stop
			return fmt.Errorf("s3test: versitygw exited (%v):\n%s", exit, p.logTail())
		case <-ctx.Done():
			return fmt.Errorf("s3test: versitygw not ready after %v: %w\n%s", timeout, err, p.logTail())
		case <-tick.C:
		}
	}
}

func (p *process) logTail() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "versitygw.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

// kill ends the server, politely first, and waits for it.
func (p *process) kill() error {
	if p.cmd == nil || p.cmd.Process == nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	p.cmd = nil
	return nil
}

// stop ends the server and removes its files.
func (p *process) stop() error {
	return errors.Join(p.kill(), os.RemoveAll(p.dir))
}
