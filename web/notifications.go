package web

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/pacerhq/pacer/store"
)

// NotificationView is one channel of a job's word of its ending, as the job
// page and the API's job show it.
type NotificationView struct {
	Channel   store.Channel `json:"channel"`
	To        string        `json:"to"`    // the webhook's scheme, host and path (its query may hold a token), or the address
	State     string        `json:"state"` // pending, sent, failed, or "at the end" before the job ends
	Attempts  int           `json:"attempts"`
	LastError string        `json:"last_error,omitempty"`
	RunAt     *time.Time    `json:"next_attempt_at,omitempty"` // the next attempt, while pending
	DoneAt    *time.Time    `json:"done_at,omitempty"`
}

// notifications lists what job j named and how delivering it went.
func (s *Server) notifications(ctx context.Context, j store.Job) ([]NotificationView, error) {
	if j.NotifyWebhook == "" && j.NotifyEmail == "" {
		return nil, nil
	}
	rows, err := s.cfg.Reader.ListNotifications(ctx, j.ID)
	if err != nil {
		return nil, err
	}
	byChannel := map[store.Channel]store.Notification{}
	for _, n := range rows {
		byChannel[n.Channel] = n
	}
	var out []NotificationView
	for _, c := range []struct {
		channel store.Channel
		target  string
	}{{store.ChannelWebhook, j.NotifyWebhook}, {store.ChannelEmail, j.NotifyEmail}} {
		if c.target == "" {
			continue
		}
		v := NotificationView{Channel: c.channel, To: c.target, State: "at the end"}
		if c.channel == store.ChannelWebhook {
			v.To = shortURL(c.target)
		}
		if n, ok := byChannel[c.channel]; ok {
			v.State, v.Attempts, v.LastError, v.DoneAt = string(n.State), n.Attempts, n.LastError, n.DoneAt
			if n.State == store.NotificationPending {
				v.RunAt = &n.RunAt
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// shortURL is raw's scheme, host and the first segment of its path: no
// user info, query or fragment, and nothing past the first segment, which
// may be the receiver's secret (Slack's /services/T…/B…/<token>, say).
func shortURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(a webhook)"
	}
	short := u.Scheme + "://" + u.Host
	if first, rest, ok := strings.Cut(strings.TrimPrefix(u.EscapedPath(), "/"), "/"); ok && rest != "" {
		return short + "/" + first + "/…"
	}
	return short + u.EscapedPath()
}
