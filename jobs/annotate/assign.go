package annotate

// Assign appends to dst the indexes of the annotators that item i (counted
// from 0 across the whole job) gets, out of n annotators with perItem per
// item, and returns dst: annotators (i·perItem + k) mod n for k from 0 to
// perItem-1.
//
// Laid end to end, the assignments of items 0, 1, 2, … run round robin over
// the annotators, so after any number of items no annotator has more than one
// instance above another, and an item never gets one annotator twice when
// perItem ≤ n. The result depends only on its arguments, so a task planned
// with its first item's index assigns the same way on every attempt.
//
// It panics unless 1 ≤ perItem ≤ n and i ≥ 0: Prepare guarantees both.
func Assign(dst []int, i int64, n, perItem int) []int {
	if perItem < 1 || perItem > n || i < 0 {
		panic("annotate: Assign needs 1 <= perItem <= n and i >= 0")
	}
	start := int((i % int64(n)) * int64(perItem) % int64(n))
	for k := range perItem {
		dst = append(dst, (start+k)%n)
	}
	return dst
}
