package annotate

import (
	"slices"
	"testing"
)

// TestAssignEven checks the property the issue asks for, over many shapes:
// after any prefix of items, no annotator has more than one instance above
// another, and no item gets an annotator twice.
func TestAssignEven(t *testing.T) {
	t.Parallel()
	for n := 1; n <= 13; n++ {
		for perItem := 1; perItem <= n; perItem++ {
			counts := make([]int, n)
			var idx []int
			for i := range int64(3*n + 7) {
				idx = Assign(idx[:0], i, n, perItem)
				if len(idx) != perItem {
					t.Fatalf("n=%d per_item=%d item %d: %d annotators", n, perItem, i, len(idx))
				}
				seen := make(map[int]bool, perItem)
				for _, k := range idx {
					if k < 0 || k >= n || seen[k] {
						t.Fatalf("n=%d per_item=%d item %d: annotators %v", n, perItem, i, idx)
					}
					seen[k] = true
					counts[k]++
				}
				if lo, hi := slices.Min(counts), slices.Max(counts); hi-lo > 1 {
					t.Fatalf("n=%d per_item=%d after item %d: counts %v", n, perItem, i, counts)
				}
			}
		}
	}
}

func TestAssignStable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		i          int64
		n, perItem int
		want       []int
	}{
		{"first item", 0, 7, 3, []int{0, 1, 2}},
		{"second item", 1, 7, 3, []int{3, 4, 5}},
		{"wraps", 2, 7, 3, []int{6, 0, 1}},
		{"far item", 1_000_000_007, 7, 3, []int{(1_000_000_007 * 3) % 7, (1_000_000_007*3 + 1) % 7, (1_000_000_007*3 + 2) % 7}},
		{"all annotators", 5, 4, 4, []int{0, 1, 2, 3}},
		{"one of one", 9, 1, 1, []int{0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Assign(nil, tc.i, tc.n, tc.perItem); !slices.Equal(got, tc.want) {
				t.Fatalf("Assign(%d, %d, %d) = %v, want %v", tc.i, tc.n, tc.perItem, got, tc.want)
			}
		})
	}
}
