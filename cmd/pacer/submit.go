package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/pacerhq/pacer/web"
)

// cmdSubmit submits a job through the JSON API, streaming the ids file, and
// with -wait follows it with a progress bar until it ends.
func cmdSubmit(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	var cf clientFlags
	var kind, credential, params, idsFile, ids, webhook, email string
	var wait bool
	var interval time.Duration
	f := newFlagSet("submit", "submit [flags]", getenv, stderr)
	cf.register(f)
	f.String(&kind, "kind", "tweet_lookup", "the job's kind")
	f.String(&credential, "credential", "", "the credential (or, later, pool) whose quota the job spends; pacer run has \"demo\"")
	f.String(&params, "params", "", "the kind's params as a JSON object, e.g. {\"tweet_fields\":[\"created_at\"]}")
	f.String(&idsFile, "ids-file", "", "file of ids, one per line (blank lines and # comments ignored); - for standard input")
	f.String(&ids, "ids", "", "ids given inline, comma-separated")
	f.String(&webhook, "webhook", "", "a URL (on the config's [notify] allow_hosts) to POST a signed summary to when the job ends")
	f.String(&email, "email", "", "an email address to mail when the job ends (the server needs [notify.smtp])")
	f.Bool(&wait, "wait", false, "follow the job with a progress bar until it ends; exit 1 if it fails")
	f.Duration(&interval, "interval", time.Second, "how often -wait polls")
	if err := f.parse(args); err != nil {
		return err
	}
	client, err := cf.client(getenv)
	if err != nil {
		return err
	}
	if interval <= 0 {
		return fmt.Errorf("-interval: %s is not positive", interval)
	}
	var file io.Reader
	switch idsFile {
	case "":
	case "-":
		file = stdin
	default:
		fh, err := os.Open(idsFile)
		if err != nil {
			return fmt.Errorf("-ids-file: %w", err)
		}
		defer fh.Close()
		if st, err := fh.Stat(); err == nil && st.IsDir() {
			return fmt.Errorf("-ids-file: %s is a directory", idsFile)
		}
		file = fh
	}

	// Stream the multipart body: fields first, then the ids file, so a
	// million ids never sit in memory on either side.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			for _, kv := range [][2]string{{"kind", kind}, {"credential", credential}, {"params", params}, {"ids", strings.ReplaceAll(ids, ",", "\n")}, {"notify_webhook", webhook}, {"notify_email", email}} {
				if kv[1] == "" {
					continue
				}
				if err := mw.WriteField(kv[0], kv[1]); err != nil {
					return err
				}
			}
			if file != nil {
				part, err := mw.CreateFormFile("ids_file", "ids.txt")
				if err != nil {
					return err
				}
				if _, err := io.Copy(part, file); err != nil {
					return fmt.Errorf("-ids-file: %w", err)
				}
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, client.base+"/api/v1/jobs", pr)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var job web.JobView
	if err := client.do(req, &job); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return fmt.Errorf("job refused: %w", err)
		}
		return err
	}
	fmt.Fprintf(stdout, "job %d submitted: %d items in %d tasks\n", job.ID, job.ItemsTotal, job.TasksTotal)
	if !wait {
		return nil
	}
	return follow(ctx, client, job, interval, stdout, stderr)
}

// follow polls a job and draws a progress bar with rate and ETA until the job
// ends. It returns exitError(1) when the job failed or was cancelled.
func follow(ctx context.Context, client *apiClient, job web.JobView, interval time.Duration, stdout, stderr io.Writer) error {
	bar := progressbar.NewOptions64(max(job.ItemsTotal, 1),
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription(fmt.Sprintf("job %d", job.ID)),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("items"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetWidth(30),
	)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		v, err := client.job(ctx, job.ID)
		if err != nil {
			return err
		}
		if v.ItemsTotal > 0 {
			bar.ChangeMax64(v.ItemsTotal)
		}
		_ = bar.Set64(v.ItemsDone + v.ItemsFailed)
		if v.State == "succeeded" || v.State == "failed" || v.State == "cancelled" {
			_ = bar.Finish()
			fmt.Fprintln(stderr)
			fmt.Fprintln(stdout, statusLine(v))
			if v.State != "succeeded" {
				return exitError(1)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(stderr)
			return ctx.Err()
		case <-t.C:
		}
	}
}
