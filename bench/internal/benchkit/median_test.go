package benchkit

import (
	"slices"
	"testing"
)

func TestMedian(t *testing.T) {
	vs := []float64{3, 1, 2, 10}
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{5}, 5}, {[]float64{3, 1, 2}, 2}, {vs, 2.5}} {
		if got := Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %g, want %g", tc.in, got, tc.want)
		}
	}
	if !slices.Equal(vs, []float64{3, 1, 2, 10}) {
		t.Errorf("Median sorted its input: %v", vs)
	}
}

func TestMedianBy(t *testing.T) {
	type round struct {
		name string
		secs float64
	}
	rs := []round{{"a", 3}, {"b", 1}, {"c", 2}, {"d", 9}}
	if got := MedianBy(rs, ByValue(func(r round) float64 { return r.secs })); got.name != "c" {
		t.Errorf("MedianBy of 4 = %+v, want the lower middle c", got)
	}
	if got := MedianBy(rs[:3], ByValue(func(r round) float64 { return r.secs })); got.name != "c" {
		t.Errorf("MedianBy of 3 = %+v, want c", got)
	}
	if rs[0].name != "a" {
		t.Errorf("MedianBy sorted its input: %v", rs)
	}
}
