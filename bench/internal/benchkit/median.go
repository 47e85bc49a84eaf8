package benchkit

import (
	"cmp"
	"slices"
)

// Median is the median of vs (the mean of the middle two for an even
// count); 0 for none. vs is not changed.
func Median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// MedianBy is the element of xs (not empty) in the middle when sorted by
// compare, the lower middle one for an even count: a whole round that
// really ran, not a mix of rounds. xs is not changed.
func MedianBy[T any](xs []T, compare func(a, b T) int) T {
	s := slices.Clone(xs)
	slices.SortStableFunc(s, compare)
	return s[(len(s)-1)/2]
}

// ByValue orders by a number taken from each element, for MedianBy.
func ByValue[T any, N cmp.Ordered](value func(T) N) func(a, b T) int {
	return func(a, b T) int { return cmp.Compare(value(a), value(b)) }
}
