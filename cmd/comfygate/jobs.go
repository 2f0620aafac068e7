package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/peterbourgon/ff/v4"
	"github.com/peterbourgon/ff/v4/ffval"

	"github.com/comfygate/comfygate/api"
)

// defaultJobLimit is how many jobs `jobs list` shows unless told.
const defaultJobLimit = 50

// jobsListFlags are the filters of `jobs list`.
type jobsListFlags struct {
	states   []string
	workflow string
	limit    int
}

func newJobsCommand(stdout, stderr io.Writer) *ff.Command {
	lf := &jobsListFlags{}
	return newGroup("jobs", "list, show, cancel, wait for and delete jobs; their webhook deliveries", stdout, stderr, append([]clientVerb{
		{name: "list", short: "list jobs, newest first", flags: lf.define,
			exec: func(ctx context.Context, s *session, _ []string) error { return listJobs(ctx, s, lf) }},
		{name: "get", args: "ID", nargs: 1, short: "show a job", exec: getJob},
		{name: "cancel", args: "ID", nargs: 1, short: "cancel a job", exec: cancelJob},
		{name: "wait", args: "ID", nargs: 1, short: "wait until a job ends; exits non-zero unless it succeeded", exec: waitJob},
		{name: "delete", args: "ID", nargs: 1, short: "delete a finished job and the files only it used", exec: deleteJob},
	}, deliveryVerbs()...))
}

func (lf *jobsListFlags) define(fs *ff.FlagSet) {
	addFlag(fs, 0, "state", "STATE", "list: only jobs in this state (repeatable, or comma-separated): "+stateNames(), ffval.NewList(&lf.states))
	addFlag(fs, 0, "workflow", "NAME", "list: only jobs of this workflow", ffval.NewValue(&lf.workflow))
	fs.IntVar(&lf.limit, 0, "limit", defaultJobLimit, "list: show at most this many jobs (0: all)")
}

func stateNames() string {
	var names []string
	for _, s := range api.JobState("").Enum() {
		names = append(names, string(s.(api.JobState)))
	}
	return strings.Join(names, ", ")
}

// query checks the filters before anything is sent.
func (lf *jobsListFlags) query() (api.JobQuery, error) {
	q := api.JobQuery{Workflow: lf.workflow}
	for _, list := range lf.states {
		for s := range strings.SplitSeq(list, ",") {
			st := api.JobState(strings.TrimSpace(s))
			if !validState(st) {
				return q, fmt.Errorf("--state %q: want one of %s: %w", s, stateNames(), errUsage)
			}
			q.State = append(q.State, st)
		}
	}
	if lf.limit < 0 {
		return q, fmt.Errorf("--limit %d: want 0 or more: %w", lf.limit, errUsage)
	}
	if lf.limit > 0 && lf.limit < 500 {
		q.Limit = lf.limit // one page is enough
	}
	return q, nil
}

func validState(s api.JobState) bool {
	for _, v := range s.Enum() {
		if v == s {
			return true
		}
	}
	return false
}

func listJobs(ctx context.Context, s *session, lf *jobsListFlags) error {
	q, err := lf.query()
	if err != nil {
		return err
	}
	jobs := []api.Job{}
	for j, err := range s.c.Jobs(ctx, q) {
		if err != nil {
			return fmt.Errorf("list jobs: %w", err)
		}
		jobs = append(jobs, j)
		if lf.limit > 0 && len(jobs) == lf.limit {
			break
		}
	}
	return s.show(api.JobList{Jobs: jobs}, func(w io.Writer) error {
		rows := make([][]string, 0, len(jobs))
		for _, j := range jobs {
			rows = append(rows, []string{j.ID, string(j.State), orDash(j.Workflow), jobProgress(j), orDash(j.Backend), stamp(j.CreatedAt)})
		}
		return table(w, "ID\tSTATE\tWORKFLOW\tPROGRESS\tBACKEND\tCREATED", rows)
	})
}

// jobProgress is a job's progress in one cell: queue position while
// queued, the overall percentage while running, the error type at the end.
func jobProgress(j api.Job) string {
	switch {
	case j.State == api.StateQueued && j.QueuePosition != nil:
		return fmt.Sprintf("%d ahead", *j.QueuePosition)
	case j.Error != nil && j.State == api.StateFailed:
		return j.Error.Type
	case j.State == api.StateSucceeded:
		return "100%"
	case j.Progress != nil && !j.State.Terminal():
		return fmt.Sprintf("%.0f%%", j.Progress.Fraction*100)
	}
	return "-"
}

// progressDetail is the progress of an unfinished job, in full.
func progressDetail(j api.Job) string {
	switch {
	case j.State.Terminal():
		return ""
	case j.Progress != nil && j.State != api.StateQueued:
		return strings.TrimSpace(describeProgress(*j.Progress))
	}
	return jobProgress(j)
}

func getJob(ctx context.Context, s *session, args []string) error {
	j, err := s.c.GetJob(ctx, args[0])
	if err != nil {
		return fmt.Errorf("get job %s: %w", args[0], err)
	}
	return s.show(j, func(w io.Writer) error { return jobDetail(w, j) })
}

func jobDetail(w io.Writer, j api.Job) error {
	kv := [][2]string{
		{"id", j.ID}, {"state", string(j.State)}, {"workflow", j.Workflow},
		{"version", j.WorkflowVersion}, {"priority", strconv.Itoa(j.Priority)},
		{"progress", progressDetail(j)}, {"backend", j.Backend}, {"attempts", strconv.Itoa(j.Attempts)},
		{"created", stamp(j.CreatedAt)}, {"dispatched", stampPtr(j.DispatchedAt)},
		{"started", stampPtr(j.StartedAt)}, {"finished", stampPtr(j.FinishedAt)},
	}
	if j.CancelRequested && !j.State.Terminal() {
		kv = append(kv, [2]string{"cancel", "requested"})
	}
	if j.Error != nil {
		kv = append(kv, [2]string{"error", describeJobError(j.Error)})
	}
	if err := fields(w, kv); err != nil {
		return err
	}
	if len(j.Outputs) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	rows := make([][]string, 0, len(j.Outputs))
	for _, o := range j.Outputs {
		rows = append(rows, []string{o.NodeID, o.Kind, orDash(o.Filename), orDash(o.ContentType), sizeText(o.Size), orDash(o.ArtifactID)})
	}
	return table(w, "NODE\tKIND\tFILENAME\tTYPE\tSIZE\tARTIFACT", rows)
}

func cancelJob(ctx context.Context, s *session, args []string) error {
	j, err := s.c.CancelJob(ctx, args[0])
	if err != nil {
		return fmt.Errorf("cancel job %s: %w", args[0], err)
	}
	return s.show(j, func(w io.Writer) error {
		if j.State.Terminal() {
			_, err := fmt.Fprintf(w, "job %s %s\n", j.ID, j.State)
			return err
		}
		_, err := fmt.Fprintf(w, "cancel requested for job %s (%s)\n", j.ID, j.State)
		return err
	})
}

func waitJob(ctx context.Context, s *session, args []string) error {
	j, err := s.c.WaitJob(ctx, args[0])
	if err != nil {
		return interrupted(ctx, fmt.Errorf("wait for job %s: %w", args[0], err))
	}
	if err := s.show(j, func(w io.Writer) error { return jobDetail(w, j) }); err != nil {
		return err
	}
	if j.State != api.StateSucceeded {
		return &jobEndedError{Job: j}
	}
	return nil
}

func deleteJob(ctx context.Context, s *session, args []string) error {
	if err := s.c.DeleteJob(ctx, args[0]); err != nil {
		return fmt.Errorf("delete job %s: %w", args[0], err)
	}
	return s.show(map[string]string{"deleted": args[0]}, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "deleted job %s\n", args[0])
		return err
	})
}

// sizeText is a byte count for people.
func sizeText(n int64) string {
	const unit = 1024
	switch {
	case n <= 0:
		return "-"
	case n < unit:
		return strconv.FormatInt(n, 10) + " B"
	}
	v, suffix := float64(n), ""
	for _, s := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v, suffix = v/unit, s
		if v < unit {
			break
		}
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + suffix
}
