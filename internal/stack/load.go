package stack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v4"
)

// LoadOptions says what to load and with which variables.
type LoadOptions struct {
	// Files are compose files (compose.yaml, docker-compose.yml, later
	// files overriding earlier ones) or one berth.yaml. Empty: the files
	// of COMPOSE_FILE (a path-list), else the first of berth.yaml,
	// berth.yml, compose.yaml, compose.yml, docker-compose.yaml,
	// docker-compose.yml in the current directory or the nearest parent
	// directory that has one (with compose's *.override.* file when there
	// is one), as docker compose finds them.
	Files []string
	// EnvFiles replace compose's .env as the interpolation variables'
	// file (compose's --env-file). Compose files only.
	EnvFiles []string
	// Env selects an entry of berth.yaml's environments: (overrides of
	// services and vars). Compose files have none.
	Env string
	// ProjectName overrides the name from the file (compose name:) or the
	// project directory; empty uses COMPOSE_PROJECT_NAME when set.
	ProjectName string
	// Profiles activates compose profiles; empty uses COMPOSE_PROFILES.
	Profiles []string
	// Set holds --set KEY=VALUE variables; they win over the environment,
	// .env and berth.yaml vars.
	Set map[string]string
	// LookupEnv reads the process environment; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

func (o *LoadOptions) lookupEnv(name string) (string, bool) {
	if o.LookupEnv != nil {
		return o.LookupEnv(name)
	}
	return os.LookupEnv(name)
}

// defaultFiles are tried in order when LoadOptions.Files is empty.
var defaultFiles = []string{"berth.yaml", "berth.yml", "compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"}

// Load reads the files, validates them and returns the normalised stack and
// the attributes berth ignores. Errors name the file, line and field.
func Load(ctx context.Context, o LoadOptions) (st *Stack, warns []Warning, err error) {
	files, err := findFiles(o.Files, o.lookupEnv)
	if err != nil {
		return nil, nil, err
	}
	if err := RefusePrinted(files...); err != nil {
		return nil, nil, err
	}
	if o.ProjectName == "" {
		o.ProjectName, _ = o.lookupEnv("COMPOSE_PROJECT_NAME")
	}
	if len(o.Profiles) == 0 {
		o.Profiles = envProfiles(o.lookupEnv)
	}
	for k := range o.Set {
		if !varNameRE.MatchString(k) {
			return nil, nil, fmt.Errorf("--set %s=...: invalid variable name %q (letters, digits and '_', not starting with a digit)", k, k)
		}
	}
	berth, err := isBerthFile(files)
	if err != nil {
		return nil, nil, err
	}
	// compose-go is third-party code fed arbitrary user input; a panic in
	// it must come out as an error naming the file, not crash the daemon.
	defer func() {
		if r := recover(); r != nil {
			st, warns, err = nil, nil, fmt.Errorf("%s: the compose loader failed on this file (internal error: %v)", strings.Join(files, ", "), r)
		}
	}()
	if berth {
		if len(o.EnvFiles) > 0 {
			return nil, nil, fmt.Errorf("--env-file %s: env files are for compose files; %s is a berth.yaml (use its vars: or --set)", o.EnvFiles[0], files[0])
		}
		return loadBerth(ctx, files[0], o)
	}
	if o.Env != "" {
		return nil, nil, fmt.Errorf("--env %s: environments are a berth.yaml feature; %s is a compose file (use another -f file or --set instead)", o.Env, files[0])
	}
	return loadCompose(ctx, files, o)
}

// overrideFile returns compose.override.yaml next to compose.yaml (and so
// on), as docker compose loads it by default, or "".
func overrideFile(p string) string {
	ext := filepath.Ext(p)
	base := strings.TrimSuffix(filepath.Base(p), ext)
	if strings.HasPrefix(base, "berth") {
		return ""
	}
	for _, e := range []string{".yaml", ".yml"} {
		ov := filepath.Join(filepath.Dir(p), base+".override"+e)
		if st, err := os.Stat(ov); err == nil && !st.IsDir() {
			return ov
		}
	}
	return ""
}

// berthOnlyKeys are top-level keys of berth.yaml that compose files never
// have: a file with any of them is a berth.yaml whatever its name.
var berthOnlyKeys = []string{"vars", "context", "repositories", "images", "environments", "acme"}

// isBerthFile tells berth.yaml from compose files: by name (berth.yaml,
// berth.yml, berth.*.yaml) or by a berth-only top-level key.
func isBerthFile(files []string) (bool, error) {
	var berth []string
	for _, f := range files {
		if sniffBerth(f) {
			berth = append(berth, f)
		}
	}
	switch {
	case len(berth) == 0:
		return false, nil
	case len(files) == 1:
		return true, nil
	}
	return false, fmt.Errorf("%s is a berth.yaml and cannot be combined with other files (use its environments: for overrides)", berth[0])
}

func sniffBerth(path string) bool {
	base := strings.ToLower(filepath.Base(path))
	if base == "berth.yaml" || base == "berth.yml" || (strings.HasPrefix(base, "berth.") && (strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".yml"))) {
		return true
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var top map[string]yaml.Node
	if yaml.Unmarshal(data, &top) != nil {
		return false
	}
	for _, k := range berthOnlyKeys {
		if _, ok := top[k]; ok {
			return true
		}
	}
	return false
}

var (
	varNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// varRefRE finds $NAME and ${NAME...} references, to know which
	// variables to ask LookupEnv for.
	varRefRE = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)
)

// environ builds the variables compose-go interpolates with. compose-go
// needs a map, while LookupEnv can only answer for one name: so it is asked
// for every name of the process environment and every name the inputs
// reference, which gives the same result as enumerating it.
func (o *LoadOptions) environ(inputs ...[]byte) map[string]string {
	// compose-go reads these itself from the map.
	names := map[string]bool{"COMPOSE_PROFILES": true, "COMPOSE_PROJECT_NAME": true}
	for _, kv := range os.Environ() {
		if k, _, ok := strings.Cut(kv, "="); ok && k != "" {
			names[k] = true
		}
	}
	for _, in := range inputs {
		for _, m := range varRefRE.FindAllSubmatch(in, -1) {
			names[string(m[1])] = true
		}
	}
	env := map[string]string{}
	for n := range names {
		if v, ok := o.lookupEnv(n); ok {
			env[n] = v
		}
	}
	return env
}

// loadCompose loads compose files the way docker compose does: OS
// environment over .env, profiles, paths resolved, schema validated.
func loadCompose(ctx context.Context, files []string, o LoadOptions) (*Stack, []Warning, error) {
	src := newSources()
	var inputs [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		if err := src.add(f, displayName(f), data); err != nil {
			return nil, nil, err
		}
		inputs = append(inputs, data)
	}
	dir := filepath.Dir(files[0])
	envFiles, err := absEnvFiles(o.EnvFiles)
	if err != nil {
		return nil, nil, err
	}
	if len(envFiles) == 0 {
		if data, err := os.ReadFile(filepath.Join(dir, ".env")); err == nil {
			inputs = append(inputs, data)
		}
	}
	for _, f := range envFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("--env-file: %w", err)
		}
		inputs = append(inputs, data)
	}
	env := o.environ(inputs...)
	for k, v := range o.Set {
		env[k] = v
	}
	var envList []string
	for k, v := range env {
		envList = append(envList, k+"="+v)
	}
	check := newSupportCheck()
	opts := []cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(dir),
		cli.WithEnv(envList),
		// .env is read after the process environment and --set are in
		// place, and only fills names they leave unset.
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(o.Profiles...),
		cli.WithResolvedPaths(true),
		cli.WithLoadOptions(check.option()),
	}
	if o.ProjectName != "" {
		opts = append(opts, cli.WithName(o.ProjectName))
	}
	po, err := cli.NewProjectOptions(files, opts...)
	if err != nil {
		return nil, nil, src.explain(err)
	}
	project, err := po.LoadProject(ctx)
	if err != nil {
		return nil, nil, src.explain(err)
	}
	lookup := func(name string) (string, bool) {
		if v, ok := po.Environment[name]; ok {
			return v, true
		}
		return o.lookupEnv(name)
	}
	return finish(project, files, check, lookup, src)
}

// finish converts a loaded project and gathers the warnings.
func finish(project *types.Project, files []string, check *supportCheck, lookup func(string) (string, bool), src *sources) (*Stack, []Warning, error) {
	st, warns, err := convert(project, lookup)
	if err != nil {
		return nil, nil, src.explain(err)
	}
	st.Files = files
	warns = append(check.warnings(project), warns...)
	if warns, err = refused(displayName(files[0]), warns); err != nil {
		return nil, nil, err
	}
	sortWarnings(warns)
	return st, warns, nil
}

// displayName is how a file is named in messages: relative to the current
// directory when it is below it, else absolute.
func displayName(abs string) string {
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, abs); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return abs
}
