package annotate

import "github.com/pacerhq/pacer/jobs"

// Params describes an annotate job's params for the submission form.
func (Kind) Params() []jobs.Param {
	return []jobs.Param{
		{Name: "annotators", Type: jobs.ParamList, Help: "the annotators' names, separated by commas or spaces"},
		{Name: "per_item", Type: jobs.ParamInt, Help: "how many annotators each item gets"},
		{Name: "scope", Type: jobs.ParamString, Help: "the project; an item already assigned in it is not assigned again"},
		{Name: "source_job", Type: jobs.ParamInt, Help: "take the items from this finished job's ok results instead of ids"},
	}
}
