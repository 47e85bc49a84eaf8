package benchkit

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// What every driver's command line does the same way: the flags for its
// reports, a run that SIGINT and SIGTERM cancel, the Markdown on stdout,
// the -md and -json files and the exit status (0 ran, 1 flagged or a target
// missed with -enforce, 2 the run could not be done).

// Flags are the options every driver has; a driver's options struct embeds
// them.
type Flags struct {
	MD      string // -md: also write the Markdown report here
	JSON    string // -json: also write the full results as JSON here
	Enforce bool   // -enforce: exit 1 when a target is not PASS
	Keep    bool   // -keep: keep the temporary directory
}

// Register adds -md and -json (defaulting to $TOOL_MD and $TOOL_JSON, TOOL
// being fs's name in capitals), -enforce and -keep to fs; kept says what the
// temporary directory holds, for -keep's help.
func (f *Flags) Register(fs *flag.FlagSet, kept string) {
	env := strings.ToUpper(fs.Name())
	fs.StringVar(&f.MD, "md", os.Getenv(env+"_MD"), "also write the Markdown report to this file (env "+env+"_MD)")
	fs.StringVar(&f.JSON, "json", os.Getenv(env+"_JSON"), "also write the full results as JSON to this file (env "+env+"_JSON)")
	fs.BoolVar(&f.Enforce, "enforce", false, "exit 1 when a target is not PASS")
	fs.BoolVar(&f.Keep, "keep", false, "keep the temporary directory ("+kept+")")
}

// Parse parses args with fs and rejects positional arguments: no driver
// takes any.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return nil
}

// Common returns f; through it Run reads the flags of any options struct
// that embeds Flags.
func (f Flags) Common() Flags { return f }

// Options is a driver's parsed command line.
type Options interface{ Common() Flags }

// Result is a finished benchmark as its driver hands it to Run.
type Result struct {
	Markdown string // printed to stdout and written to -md
	Data     any    // written to -json
	Missed   bool   // a target was not met: exit 1 with -enforce
	Flagged  bool   // the run had errors: exit 1 even without -enforce
}

// Main runs a driver's run function with a context that SIGINT and SIGTERM
// cancel (so its deferred cleanup stops daemons and removes directories) and
// exits with the status it returns.
func Main(run func(ctx context.Context, args []string, stdout, stderr io.Writer) int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Run is a driver's whole run: parse args, run bench, print its Markdown,
// write -md and -json, and return the exit status.
func Run[O Options](ctx context.Context, tool string, args []string, stdout, stderr io.Writer,
	parse func(args []string, stderr io.Writer) (O, error),
	bench func(ctx context.Context, o O, progress io.Writer) (Result, error)) int {
	o, err := parse(args, stderr)
	if err != nil {
		return Fail(stderr, tool, err)
	}
	res, err := bench(ctx, o, stderr)
	if err != nil {
		return Fail(stderr, tool, err)
	}
	fmt.Fprint(stdout, res.Markdown)
	f := o.Common()
	if err := WriteReports(f.MD, res.Markdown, f.JSON, res.Data); err != nil {
		return Fail(stderr, tool, err)
	}
	if res.Flagged || (f.Enforce && res.Missed) {
		return 1
	}
	return 0
}

// Fail prints err as tool's (not flag.ErrHelp: the flag set printed the
// usage already) and returns exit status 2.
func Fail(stderr io.Writer, tool string, err error) int {
	if !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stderr, "%s: %v\n", tool, err)
	}
	return 2
}

// Progress returns a printf for the progress lines a driver writes to w,
// each prefixed with tool.
func Progress(w io.Writer, tool string) func(format string, args ...any) {
	return func(format string, args ...any) {
		fmt.Fprintf(w, tool+": "+format+"\n", args...)
	}
}

// WorkDir creates the run's temporary directory below parent ("": the
// system's). done removes it, unless keep: then progress is told where it
// stays.
func WorkDir(parent, tool string, keep bool, progress io.Writer) (dir string, done func(), err error) {
	dir, err = os.MkdirTemp(parent, tool+"-")
	if err != nil {
		return "", nil, err
	}
	if keep {
		fmt.Fprintf(progress, "%s: keeping %s\n", tool, dir)
		return dir, func() {}, nil
	}
	return dir, func() { _ = os.RemoveAll(dir) }, nil
}

// WriteReports writes the Markdown report to mdPath and v as indented JSON
// to jsonPath; an empty path skips that file.
func WriteReports(mdPath, md, jsonPath string, v any) error {
	if mdPath != "" {
		if err := os.WriteFile(mdPath, []byte(md), 0o644); err != nil {
			return fmt.Errorf("write -md: %w", err)
		}
	}
	if jsonPath != "" {
		b, err := json.MarshalIndent(v, "", "  ")
		if err == nil {
			err = os.WriteFile(jsonPath, append(b, '\n'), 0o644)
		}
		if err != nil {
			return fmt.Errorf("write -json: %w", err)
		}
	}
	return nil
}
