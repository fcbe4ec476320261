package sandbox

// A timeline that grows: tests of incremental collection add tweets to a
// user between two runs and read back which tweets each request asked for.

// ListRequest is one page of a user's tweets that the sandbox answered, as
// [Server.ListRequests] logs it.
type ListRequest struct {
	User    uint64 // the user whose tweets were asked for
	SinceID uint64 // the request's since_id; 0 for none
	// Count is how many tweets the page held; Newest and Oldest are their
	// ids (0 for an empty page).
	Count          int
	Newest, Oldest uint64
}

// AddTweets posts n new tweets to user's timeline, newer than every tweet
// it had, and returns their ids, newest first. Pagination tokens handed out
// before count offsets in the old timeline: add tweets between collections,
// not in the middle of one. n must not be negative.
func (s *Server) AddTweets(user uint64, n int) []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.added == nil {
		s.added = make(map[uint64]int)
	}
	before := s.added[user]
	s.added[user] += n
	ids := make([]uint64, 0, n)
	for i := range n {
		ids = append(ids, UserTweetID(user, -(before+n-i)))
	}
	return ids
}

// ListRequests returns the log of the user_tweets pages the sandbox
// answered since it was created or last [Server.Reset], in order.
func (s *Server) ListRequests() []ListRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ListRequest(nil), s.listLog...)
}

// addedTweets returns how many tweets AddTweets gave user.
func (s *Server) addedTweets(user uint64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.added[user]
}

// logList logs a user_tweets page that holds the tweets of indexes from to
// end-1 (as [UserTweetID] numbers them; negative for added tweets).
func (s *Server) logList(q listQuery, from, end int) {
	r := ListRequest{User: q.user, SinceID: q.since, Count: end - from}
	if r.Count > 0 {
		r.Newest, r.Oldest = UserTweetID(q.user, from), UserTweetID(q.user, end-1)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listLog = append(s.listLog, r)
}
