// Package names validates repository names and tags as the OCI
// Distribution Spec defines them. Every name reaches the filesystem and the
// metadata store only after it passed here, so nothing can traverse paths.
package names

import (
	"fmt"
	"regexp"
)

// MaxRepositoryLength bounds a repository name, as distribution does
// (the spec recommends supporting at least 255 characters with the host).
const MaxRepositoryLength = 255

var (
	repositoryRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)
	tagRE        = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
)

// ValidateRepository reports whether name is a valid repository name.
// Names with "..", a leading "/", upper case or other characters are refused.
func ValidateRepository(name string) error {
	if name == "" {
		return fmt.Errorf("repository name is empty")
	}
	if len(name) > MaxRepositoryLength {
		return fmt.Errorf("repository name is %d characters long, the limit is %d", len(name), MaxRepositoryLength)
	}
	if !repositoryRE.MatchString(name) {
		return fmt.Errorf("repository name %q is invalid: components must match [a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)* separated by '/'", name)
	}
	return nil
}

// ValidateTag reports whether tag is a valid tag.
func ValidateTag(tag string) error {
	if !tagRE.MatchString(tag) {
		return fmt.Errorf("tag %q is invalid: it must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}", tag)
	}
	return nil
}
