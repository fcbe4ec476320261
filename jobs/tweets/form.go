package tweets

import "github.com/pacerhq/pacer/jobs"

var fieldParams = []jobs.Param{
	{Name: "tweet_fields", Type: jobs.ParamList, Help: "X's tweet.fields, e.g. created_at, author_id, public_metrics"},
	{Name: "user_fields", Type: jobs.ParamList, Help: "X's user.fields, e.g. username, created_at"},
	{Name: "expansions", Type: jobs.ParamList, Help: "X's expansions, e.g. author_id"},
}

// Params describes a tweet_lookup job's params for the submission form.
func (l *Lookup) Params() []jobs.Param { return fieldParams }

// Params describes a user list job's params for the submission form.
func (l *UserList) Params() []jobs.Param {
	ps := []jobs.Param{
		{Name: "max_results", Type: jobs.ParamInt, Help: "page size asked of X; empty for the largest"},
		{Name: "max_items", Type: jobs.ParamInt, Help: "stop each user's list after this many rows; empty for all"},
	}
	ps = append(ps, fieldParams...)
	if l.spec.name == UserTweetsName {
		ps = append(ps,
			jobs.Param{Name: "start_time", Type: jobs.ParamString, Help: "keep tweets created at or after this RFC 3339 time"},
			jobs.Param{Name: "end_time", Type: jobs.ParamString, Help: "keep tweets created before this RFC 3339 time"},
			jobs.Param{Name: "since_id", Type: jobs.ParamString, Help: "keep tweets with ids above this one"},
			jobs.Param{Name: "until_id", Type: jobs.ParamString, Help: "keep tweets with ids below this one"},
		)
	}
	return ps
}
