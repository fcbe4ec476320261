package jobs

// TaskItems returns the items a task of kind covers, read from its payload
// by the kind's Rerunner; nil when the kind is unknown, cannot tell, or the
// payload does not parse. The job page names them beside a task's error.
func (s *Service) TaskItems(kind string, payload []byte) []string {
	k, ok := s.cfg.Kinds.Lookup(kind)
	if !ok {
		return nil
	}
	r, ok := k.(Rerunner)
	if !ok {
		return nil
	}
	items, err := r.Items(payload)
	if err != nil {
		return nil
	}
	return items
}
