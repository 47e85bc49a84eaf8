package auth

import "strings"

// Pattern is a compiled repository pattern, as rules' repositories: use
// (each '/'-separated segment matched with path.Match, "**" any number of
// segments), for the registry's other per-repository settings.
type Pattern struct{ segs []string }

// CompilePattern validates a repository pattern.
func CompilePattern(p string) (Pattern, error) {
	segs, err := compilePattern(p)
	return Pattern{segs}, err
}

// Match reports whether repository repo matches the pattern.
func (p Pattern) Match(repo string) bool {
	return p.segs != nil && matchSegments(p.segs, strings.Split(repo, "/"))
}
