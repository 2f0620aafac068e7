package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/peterbourgon/ff/v4"
	"github.com/peterbourgon/ff/v4/ffval"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/client"
)

// cancelTimeout bounds the cancel request run sends after Ctrl-C: the
// person pressed it to get their prompt back.
const cancelTimeout = 10 * time.Second

var (
	// errInterrupted: run was stopped (Ctrl-C, SIGTERM). It is not
	// context.Canceled on purpose: main exits 0 on that, and a run that
	// did not finish must not look like success to a script.
	errInterrupted = errors.New("interrupted")
	// errTimedOut: --timeout passed before the job ended.
	errTimedOut = errors.New("timed out")
)

// jobEndedError is a job that ended without succeeding: the error run and
// jobs wait exit with.
type jobEndedError struct{ Job api.Job }

func (e *jobEndedError) Error() string {
	if e.Job.State == api.StateCancelled {
		return fmt.Sprintf("job %s was cancelled", e.Job.ID)
	}
	return fmt.Sprintf("job %s %s: %s", e.Job.ID, e.Job.State, describeJobError(e.Job.Error))
}

// runFlags are the settings of one `comfygate run`.
type runFlags struct {
	*clientFlags
	params     []string
	images     []string
	paramsFile string
	out        string
	priority   int
	timeout    time.Duration
	noProgress bool
}

func newRunCommand(stdout, stderr io.Writer) *ff.Command {
	fs := ff.NewFlagSet("run")
	f := &runFlags{clientFlags: addClientFlags(fs)}
	addFlag(fs, 'p', "param", "KEY=VALUE", "a parameter, typed as the workflow's schema says: -p prompt=1984 is text, -p steps=20 a number (repeatable)", ffval.NewList(&f.params))
	addFlag(fs, 0, "params-file", "FILE", "JSON or YAML object of parameter values; a number or boolean given for a text parameter is sent as text (-p wins)", ffval.NewValue(&f.paramsFile))
	addFlag(fs, 0, "image", "NAME=PATH", "upload a local image for an image parameter (repeatable)", ffval.NewList(&f.images))
	addFlag(fs, 0, "out", "DIR", "directory to save the outputs in", ffval.NewValueDefault(&f.out, "."))
	fs.IntVar(&f.priority, 0, "priority", 0, "queue priority, -100..100; higher runs first")
	fs.DurationVar(&f.timeout, 0, "timeout", 0, "cancel the job when it has not ended after this long (0: no limit)")
	fs.BoolVar(&f.noProgress, 0, "no-progress", "show no progress on stderr")
	return &ff.Command{
		Name:      "run",
		Usage:     "comfygate run WORKFLOW [-p key=value ...] [flags]",
		ShortHelp: "run a stored workflow and save its outputs",
		LongHelp: "Submits a job for WORKFLOW, follows it with a progress bar on stderr (one line per event " +
			"when stderr is not a terminal), saves every output into --out and prints the saved paths. " +
			"Exits non-zero with the job's error when it fails; Ctrl-C cancels the job.\n\n" +
			"  comfygate run txt2img -p prompt='a red fox' -p seed=42 -p steps=20 --out ./renders\n" +
			"  comfygate run img2img --image image=./cat.png -p denoise=0.6",
		Flags: interspersed{fs},
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("run: want one WORKFLOW, got %d arguments: %w", len(args), errUsage)
			}
			s, closeFn, err := f.open(stdout, stderr)
			if err != nil {
				return err
			}
			defer closeFn()
			return runJob(ctx, s, f, args[0])
		},
	}
}

// runJob is the whole of `comfygate run` once the flags are read.
func runJob(ctx context.Context, s *session, f *runFlags, workflow string) error {
	in, err := readRunInput(f)
	if err != nil {
		return err
	}
	wf, err := s.c.GetWorkflow(ctx, workflow)
	if err != nil {
		return interrupted(ctx, fmt.Errorf("workflow %s: %w", workflow, err))
	}
	params, err := in.params(typesOf(wf))
	if err != nil {
		return err
	}
	if err := uploadImages(ctx, s.c, f.images, params); err != nil {
		return interrupted(ctx, err)
	}
	job, err := s.c.SubmitJob(ctx, api.SubmitJobRequest{Workflow: workflow, Params: params, Priority: f.priority})
	if err != nil {
		return interrupted(ctx, fmt.Errorf("submit: %w", err))
	}
	if !f.noProgress {
		fmt.Fprintf(s.stderr, "submitted job %s\n", job.ID)
	}
	final, err := follow(ctx, s, f, job)
	if err != nil {
		return err
	}
	if final.State != api.StateSucceeded {
		return &jobEndedError{Job: final}
	}
	paths, err := saveOutputs(ctx, s.c, f.out, final)
	if err != nil {
		return interrupted(ctx, err)
	}
	if paths == nil {
		paths = []string{} // --json: "files": [], not null
	}
	return s.show(runResult{Job: final, Files: paths}, func(w io.Writer) error {
		for _, p := range paths {
			fmt.Fprintln(w, p)
		}
		return nil
	})
}

// runResult is what run prints with --json.
type runResult struct {
	Job   api.Job  `json:"job"`
	Files []string `json:"files"`
}

// interrupted turns an error caused by the end of ctx into errInterrupted.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil && !errors.Is(err, errInterrupted) {
		return fmt.Errorf("%w: %v", errInterrupted, err)
	}
	return err
}

// runInput is what the command line says about parameters, read before
// anything is sent: a typo fails at once.
type runInput struct {
	file   map[string]any // --params-file, typed by its JSON or YAML
	fileAt string
	pairs  [][2]string // -p name=text, in order
	images []string    // --image names
}

func readRunInput(f *runFlags) (runInput, error) {
	in := runInput{fileAt: f.paramsFile}
	if f.paramsFile != "" {
		var err error
		if in.file, err = readParamsFile(f.paramsFile); err != nil {
			return in, err
		}
	}
	for _, p := range f.params {
		k, v, err := parseParam(p)
		if err != nil {
			return in, err
		}
		in.pairs = append(in.pairs, [2]string{k, v})
	}
	for _, img := range f.images { // check all before uploading any
		name, path, err := parseImage(img)
		if err != nil {
			return in, err
		}
		if err := readable(path); err != nil {
			return in, fmt.Errorf("--image %s: %w", name, err)
		}
		in.images = append(in.images, name)
	}
	return in, nil
}

// params merges --params-file and -p, in that order, typing each -p value
// from the schema and naming any parameter the workflow does not have.
func (in runInput) params(pt paramTypes) (map[string]any, error) {
	params := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(in.file)) { // the first unknown name is always the same
		if err := pt.check("--params-file "+in.fileAt+":", k); err != nil {
			return nil, err
		}
		params[k] = pt.fileValue(k, in.file[k])
	}
	for _, kv := range in.pairs {
		v, err := pt.value(kv[0], kv[1])
		if err != nil {
			return nil, err
		}
		params[kv[0]] = v
	}
	for _, name := range in.images {
		if err := pt.check("--image", name); err != nil {
			return nil, err
		}
	}
	return params, nil
}

// uploadImages uploads each --image file and sets its parameter to the
// upload's id.
func uploadImages(ctx context.Context, c *client.Client, images []string, params map[string]any) error {
	for _, img := range images {
		name, path, _ := parseImage(img)
		id, err := uploadFile(ctx, c, path)
		if err != nil {
			return fmt.Errorf("--image %s: %w", name, err)
		}
		params[name] = id
	}
	return nil
}

// readable fails when path cannot be opened for reading.
func readable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return f.Close()
}

func uploadFile(ctx context.Context, c *client.Client, path string) (string, error) {
	file, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer file.Close()
	up, err := c.Upload(ctx, file, filepath.Base(path), mime.TypeByExtension(filepath.Ext(path)))
	if err != nil {
		return "", fmt.Errorf("upload %s: %w", path, err)
	}
	return up.ID, nil
}

// follow shows the job's events until it ends. When ctx ends (Ctrl-C) or
// --timeout passes first, it cancels the job and says so.
func follow(ctx context.Context, s *session, f *runFlags, job api.Job) (api.Job, error) {
	waitCtx, stop := ctx, context.CancelFunc(func() {})
	if f.timeout > 0 {
		waitCtx, stop = context.WithTimeout(ctx, f.timeout)
	}
	defer stop()
	view := newProgressView(s.stderr, f.noProgress, job.CreatedAt)
	final, err := watch(waitCtx, s.c, job.ID, view)
	view.done()
	if err == nil || waitCtx.Err() == nil {
		return final, err
	}
	why := errInterrupted
	if ctx.Err() == nil {
		why = fmt.Errorf("%w after %s", errTimedOut, f.timeout)
	}
	return job, abandon(ctx, s, job.ID, why)
}

// watch feeds the job's events to view and returns the job as it ended.
func watch(ctx context.Context, c *client.Client, id string, view progressView) (api.Job, error) {
	st, err := c.Events(ctx, id)
	if err != nil {
		return api.Job{}, fmt.Errorf("follow job %s: %w", id, err)
	}
	defer st.Close()
	for {
		ev, err := st.Next(ctx)
		if errors.Is(err, io.EOF) {
			return c.GetJob(ctx, id) // the stream ended without a terminal event
		}
		if err != nil {
			return api.Job{}, fmt.Errorf("follow job %s: %w", id, err)
		}
		view.event(ev)
		if api.TerminalEvent(ev.Type) {
			if j, ok := eventData[api.Job](ev); ok && j.ID != "" {
				return j, nil
			}
			return c.GetJob(ctx, id)
		}
	}
}

// abandon cancels the job the person no longer waits for. The request
// gets a context of its own: ctx is usually what ended.
func abandon(ctx context.Context, s *session, id string, why error) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelTimeout)
	defer cancel()
	j, err := s.c.CancelJob(cctx, id)
	if err != nil {
		return fmt.Errorf("%w; cancelling job %s failed: %v", why, id, err)
	}
	if j.State.Terminal() {
		fmt.Fprintf(s.stderr, "job %s %s\n", id, j.State)
	} else {
		fmt.Fprintf(s.stderr, "cancel requested for job %s (%s)\n", id, j.State)
	}
	return fmt.Errorf("%w; job %s cancelled", why, id)
}
