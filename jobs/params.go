package jobs

// ParamType is how the submission form asks for a param and turns the
// answer into JSON.
type ParamType string

// Param types.
const (
	ParamString  ParamType = "string"  // a text field, a JSON string
	ParamInt     ParamType = "int"     // a number field, a JSON number
	ParamBool    ParamType = "bool"    // a checkbox, a JSON true when ticked
	ParamList    ParamType = "list"    // names separated by commas or spaces, a JSON array of strings
	ParamHeaders ParamType = "headers" // "Name: value" lines, a JSON object
)

// Param describes one of a kind's params for the submission form.
type Param struct {
	Name string    `json:"name"` // the JSON name in the params object
	Type ParamType `json:"type"`
	Help string    `json:"help"` // one line: what it does, its bounds
}

// ParamDescriber is a Kind that describes its params, so that the
// submission form can ask for each one.
type ParamDescriber interface {
	Params() []Param
}

// KindParams returns the params kind describes; nil for a kind that does
// not (the form then offers the raw JSON field only).
func (s *Service) KindParams(kind string) []Param {
	k, ok := s.cfg.Kinds.Lookup(kind)
	if !ok {
		return nil
	}
	if d, ok := k.(ParamDescriber); ok {
		return d.Params()
	}
	return nil
}
