// Package sandbox is a stand-in upstream that behaves like the part of X API
// v2 pacer talks to: tweet lookup (GET /2/tweets?ids=...) and the paginated
// lists of a user's tweets and followers (GET /2/users/:id/tweets and
// /followers, with opaque pagination tokens), with a fixed-window quota per
// bearer token and endpoint, the x-rate-limit-* headers on every response,
// 429s past the limit, deleted and protected tweets reported in "errors" in
// X's exact shapes, and switchable faults (latency, 503s, dropped
// connections, truncated bodies).
//
// Tests serve a [Server] with httptest.NewServer; `pacer sandbox` and the
// embedded demo mount it as an http.Handler. Everything it returns is a pure
// function of the request (tweets are derived from their ids, see [Missing]
// and [Protected]; users' lists from the user's id, see [FollowerCount],
// [TweetCount], [FollowerID] and [UserTweetID]), except the quota, which
// follows [Config.NowFunc], and the faults, which come from a seeded
// generator. It counts every request it gets
// ([Server.Stats], GET /sandbox/stats), so that tests and benchmarks can check
// that pacer never broke a quota and never fetched an id or a page twice
// ([Server.PageRequests]).
//
// sandbox imports the standard library only, never a pacer package: it is a
// separate program standing in for the internet, so it must not share bugs
// with the code it tests.
package sandbox
