package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/peterbourgon/ff/v4"
	"github.com/peterbourgon/ff/v4/ffval"

	"github.com/comfygate/comfygate/api"
)

// deliveryVerbs are the jobs verbs of webhooks.
func deliveryVerbs() []clientVerb {
	var message string
	return []clientVerb{
		{name: "deliveries", args: "ID", nargs: 1, short: "list a job's webhook deliveries, every attempt included", exec: listDeliveries},
		{name: "redeliver", args: "ID", nargs: 1, short: "send a job's webhook message again (same webhook-id)",
			flags: func(fs *ff.FlagSet) {
				addFlag(fs, 0, "message", "MSG_ID", "redeliver: the message to send again (default: the job's latest)", ffval.NewValue(&message))
			},
			exec: func(ctx context.Context, s *session, args []string) error { return redeliver(ctx, s, args[0], message) }},
	}
}

func listDeliveries(ctx context.Context, s *session, args []string) error {
	d, err := s.c.Deliveries(ctx, args[0])
	if err != nil {
		return fmt.Errorf("deliveries of job %s: %w", args[0], err)
	}
	return s.show(d, func(w io.Writer) error { return deliveryTable(w, d) })
}

func redeliver(ctx context.Context, s *session, id, message string) error {
	d, err := s.c.Redeliver(ctx, id, message)
	if err != nil {
		return fmt.Errorf("redeliver job %s: %w", id, err)
	}
	return s.show(d, func(w io.Writer) error { return deliveryTable(w, d) })
}

// deliveryTable shows one row per attempt, under its message.
func deliveryTable(w io.Writer, d api.DeliveryList) error {
	if len(d.Deliveries) == 0 {
		_, err := fmt.Fprintln(w, "no webhook deliveries")
		return err
	}
	var rows [][]string
	for _, m := range d.Deliveries {
		next := stampPtr(m.NextAttemptAt)
		rows = append(rows, []string{m.ID, m.Type, m.State, "", "", "", orDash(next)})
		for _, a := range m.Attempts {
			answer := strconv.Itoa(a.StatusCode)
			if a.StatusCode == 0 {
				answer = a.Error
			}
			rows = append(rows, []string{"", "", "", "#" + strconv.Itoa(a.N) + " " + stamp(a.At), answer,
				fmt.Sprintf("%.1fms", a.DurationMS), orDash(stampPtr(a.NextAttemptAt))})
		}
	}
	return table(w, "MESSAGE\tTYPE\tSTATE\tATTEMPT\tANSWER\tTOOK\tNEXT", rows)
}
