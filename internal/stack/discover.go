package stack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// findFiles makes the given files absolute or, with none given, finds them
// as docker compose does: COMPOSE_FILE (a list separated like PATH), else
// the first default file in the current directory or its nearest parent
// that has one.
func findFiles(given []string, lookupEnv func(string) (string, bool)) ([]string, error) {
	if len(given) == 0 {
		if v, ok := lookupEnv("COMPOSE_FILE"); ok && v != "" {
			for _, f := range filepath.SplitList(v) {
				if f != "" {
					given = append(given, f)
				}
			}
			files, err := absFiles(given)
			if err != nil {
				return nil, fmt.Errorf("COMPOSE_FILE=%s: %w", v, err)
			}
			return files, nil
		}
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		if files := discover(wd); files != nil {
			return files, nil
		}
		return nil, fmt.Errorf("no berth.yaml or compose file in %s or its parent directories (looked for %s); name one with -f", wd, strings.Join(defaultFiles, ", "))
	}
	return absFiles(given)
}

// discover returns the first default file (and its override file) of dir
// or of its nearest parent directory that has one, or nil.
func discover(dir string) []string {
	for {
		for _, name := range defaultFiles {
			p := filepath.Join(dir, name)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				files := []string{p}
				if ov := overrideFile(p); ov != "" {
					files = append(files, ov)
				}
				return files
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}

// absFiles checks that every file exists and is not a directory, and makes
// it absolute.
func absFiles(given []string) ([]string, error) {
	var files []string
	for _, f := range given {
		if f == "" {
			return nil, errors.New("empty file name")
		}
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		st, err := os.Stat(abs)
		if err != nil {
			return nil, err
		}
		if st.IsDir() {
			return nil, fmt.Errorf("%s is a directory, not a compose file or berth.yaml", f)
		}
		files = append(files, abs)
	}
	return files, nil
}

// absEnvFiles makes --env-file files absolute (relative to the current
// directory, as compose takes them).
func absEnvFiles(given []string) ([]string, error) {
	var files []string
	for _, f := range given {
		if f == "" {
			return nil, errors.New("--env-file: empty file name")
		}
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		files = append(files, abs)
	}
	return files, nil
}

// envProfiles are COMPOSE_PROFILES' comma-separated profiles.
func envProfiles(lookupEnv func(string) (string, bool)) []string {
	v, _ := lookupEnv("COMPOSE_PROFILES")
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
