package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/client"
	"github.com/comfygate/comfygate/internal/httpapi"
)

func ExampleClient_SubmitJob() {
	ts, stop := newMemory().serve(httpapi.Config{})
	defer stop()
	c, _ := client.New(ts.URL, client.WithHTTPClient(ts.Client()))
	ctx := context.Background()

	job, err := c.SubmitJob(ctx, api.SubmitJobRequest{
		Workflow: "txt2img",
		Params:   map[string]any{"prompt": "a red fox", "steps": 20},
	}, client.IdempotencyKey("order-1234"), client.Wait(30*time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(job.ID, job.State, job.Outputs[0].URL)
	// Output: job-1 succeeded /v1/artifacts/img-job-1
}

func ExampleClient_Events() {
	ts, stop := newMemory().serve(httpapi.Config{})
	defer stop()
	c, _ := client.New(ts.URL, client.WithHTTPClient(ts.Client()))
	ctx := context.Background()
	job, _ := c.SubmitJob(ctx, api.SubmitJobRequest{Workflow: "txt2img"})

	events, err := c.Events(ctx, job.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer events.Close()
	for {
		ev, err := events.Next(ctx)
		if errors.Is(err, io.EOF) {
			break // after the terminal event
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(ev.ID, ev.Type)
	}
	// Output:
	// 1 queued
	// 2 started
	// 2.1 progress
	// 3 output
	// 4 succeeded
}

func ExampleClient_WaitJob() {
	ts, stop := newMemory().serve(httpapi.Config{})
	defer stop()
	c, _ := client.New(ts.URL, client.WithHTTPClient(ts.Client()))
	ctx := context.Background()
	job, _ := c.SubmitJob(ctx, api.SubmitJobRequest{Workflow: "txt2img"})

	done, err := c.WaitJob(ctx, job.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	img, err := c.DownloadArtifact(ctx, done.Outputs[0].ArtifactID)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer img.Close()
	data, _ := io.ReadAll(img)
	fmt.Println(done.State, img.ContentType, img.Filename, len(data))
	// Output: succeeded image/png out.png 4
}

func ExampleClient_PutWorkflow() {
	ts, stop := newMemory().serve(httpapi.Config{})
	defer stop()
	c, _ := client.New(ts.URL, client.WithHTTPClient(ts.Client()))
	ctx := context.Background()

	body := `{"graph": {"3": {"class_type": "KSampler", "inputs": {"steps": 20}}},
	          "params": {"steps": {"target": "3.inputs.steps", "type": "integer", "default": 20, "minimum": 1}}}`
	wf, created, err := c.PutWorkflow(ctx, "txt2img", []byte(body))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(wf.Name, created, wf.Params[0].Target)
	// Output: txt2img true 3.inputs.steps
}

func ExampleClient_Upload() {
	ts, stop := newMemory().serve(httpapi.Config{})
	defer stop()
	c, _ := client.New(ts.URL, client.WithHTTPClient(ts.Client()))

	up, err := c.Upload(context.Background(), strings.NewReader("\x89PNG..."), "input.png", "image/png")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(up.Filename, up.ContentType, up.Size, up.URL == "/v1/artifacts/"+up.ID)
	// Output: input.png image/png 7 true
}

func ExampleError() {
	ts, stop := newMemory().serve(httpapi.Config{})
	defer stop()
	c, _ := client.New(ts.URL, client.WithHTTPClient(ts.Client()))

	_, err := c.SubmitJob(context.Background(), api.SubmitJobRequest{Workflow: "txt2img", Priority: 1000})
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code, apiErr.Field)
		fmt.Println(apiErr.Message)
	}
	// Output:
	// 400 invalid_request priority
	// must be from -100 to 100, got 1000
}

func ExampleClient_Jobs() {
	ts, stop := newMemory().serve(httpapi.Config{})
	defer stop()
	c, _ := client.New(ts.URL, client.WithHTTPClient(ts.Client()))
	ctx := context.Background()
	for range 3 {
		_, _ = c.SubmitJob(ctx, api.SubmitJobRequest{Workflow: "txt2img"})
	}

	for job, err := range c.Jobs(ctx, api.JobQuery{Limit: 2}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(job.ID)
	}
	// Output:
	// job-3
	// job-2
	// job-1
}

func ExampleClient_RunWorkflow() {
	ts, stop := newMemory().serve(httpapi.Config{})
	defer stop()
	c, _ := client.New(ts.URL, client.WithHTTPClient(ts.Client()))

	job, err := c.RunWorkflow(context.Background(), "txt2img", api.RunWorkflowRequest{
		Params: map[string]any{"prompt": "a heron at dawn", "steps": 12},
	}, client.Wait(30*time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(job.Workflow, job.State, job.Outputs[0].URL)
	// Output: txt2img succeeded /v1/artifacts/img-job-1
}
