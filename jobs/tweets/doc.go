// Package tweets holds pacer's X API v2 kinds. It owns their params, their
// validation, how their input is split into tasks and how one task talks to
// X: [Lookup], the tweet_lookup kind, fetches tweets by id, 100 per request
// (GET /2/tweets?ids=...); [UserList] is the paginated user_tweets and
// user_followers kinds, one task per page, each page's task creating the
// next (GET /2/users/:id/tweets and /followers).
//
// A kind knows its upstream and its params, nothing else: tweets imports jobs
// (the [jobs.Kind] contract) and may import ratelimit, never store, broker or
// web. It does not authenticate or pace its requests either: the worker hands
// Do an http.Client that adds the job's credential and holds the quota.
package tweets
