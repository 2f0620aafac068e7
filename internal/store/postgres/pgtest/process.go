package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// process is a postgres server running on a temporary directory.
type process struct {
	dir  string // holds data/, the socket and server.log
	port int
	cmd  *exec.Cmd
	done chan error // receives the server's exit
}

func (p *process) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, db)
}

// findBinaries returns the directory holding initdb and postgres.
func findBinaries() (string, error) {
	if initdb, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(initdb)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(versions, func(i, j int) bool { return pgVersion(versions[i]) > pgVersion(versions[j]) })
	for _, dir := range append(versions, "/usr/local/bin", "/usr/local/pgsql/bin") {
		_, e1 := os.Stat(filepath.Join(dir, "initdb"))
		_, e2 := os.Stat(filepath.Join(dir, "postgres"))
		if e1 == nil && e2 == nil {
			return dir, nil
		}
	}
	return "", ErrNoPostgres
}

// pgVersion reads the major version from /usr/lib/postgresql/<v>/bin.
func pgVersion(bin string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(bin)))
	return v
}

// credential returns who runs the server: PostgreSQL refuses to run as
// root, so as root it runs as the "postgres" user.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root needs a postgres user to run the server: %w", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func startProcess(ctx context.Context) (*process, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "comfygate-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	p := &process{dir: dir, done: make(chan error, 1)}
	if err := p.start(ctx, bin, cred); err != nil {
		return nil, errors.Join(err, p.stop())
	}
	return p, nil
}

func (p *process) start(ctx context.Context, bin string, cred *syscall.Credential) error {
	if cred != nil {
		if err := os.Chown(p.dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
	}
	data := filepath.Join(p.dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
		"--auth=trust", "--no-sync", "--encoding=UTF8", "--no-locale")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	p.port = port
	logf, err := os.Create(filepath.Join(p.dir, "server.log"))
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer logf.Close()
	// Durability is pointless for a throwaway server; speed is not.
	args := []string{"-D", data, "-k", p.dir, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=300"}
	if hasStatStatements(bin) {
		// Benchmarks count the statements and WAL bytes a job costs.
		args = append(args, "-c", "shared_preload_libraries=pg_stat_statements")
	}
	p.cmd = exec.Command(filepath.Join(bin, "postgres"), args...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	return p.waitReady(ctx, 30*time.Second)
}

// hasStatStatements reports whether the server's pg_stat_statements module
// is installed (a contrib module, absent from minimal installs).
func hasStatStatements(bin string) bool {
	real, err := filepath.EvalSymlinks(filepath.Join(bin, "postgres"))
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(filepath.Dir(real), "..", "lib", "pg_stat_statements.so"))
	return err == nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls until the server accepts connections, it exits, or the
// deadline passes.
func (p *process) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		conn, err := pgx.Connect(ctx, p.dsn("postgres"))
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case exit := <-p.done:
			p.done <- exit // for stop
			return fmt.Errorf("pgtest: postgres exited (%v):\n%s", exit, p.logTail())
		case <-ctx.Done():
			return fmt.Errorf("pgtest: postgres not ready after %v: %w\n%s", timeout, err, p.logTail())
		case <-tick.C:
		}
	}
}

func (p *process) logTail() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "server.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

// stop shuts the server down (fast shutdown, then kill) and removes its files.
func (p *process) stop() error {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
	return os.RemoveAll(p.dir)
}
