package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/build"
	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/cliflag"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/engine/logs"
	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/release"
	"github.com/berth-dev/berth/internal/stack"
)

// stackFlags are shared by the commands that read a stack file.
type stackFlags struct {
	files       []string
	environment cliflag.Environment
	env         string // the environment, once load resolved it
	project     string
	set         []string
	profiles    []string
	envFiles    []string
	socket      string
}

func (f *stackFlags) add(cmd *cobra.Command) {
	f.addFile(cmd, "f")
	f.addRest(cmd)
}

// addFile registers --file (with shorthand, unless "" because -f means
// something else, as in `logs -f`).
func (f *stackFlags) addFile(cmd *cobra.Command, short string) {
	cmd.Flags().StringArrayVarP(&f.files, "file", short, nil, "berth.yaml or compose file (default: $COMPOSE_FILE, else berth.yaml, compose.yaml, docker-compose.yml here or in a parent directory)")
}

func (f *stackFlags) addRest(cmd *cobra.Command) {
	f.environment.Add(cmd.Flags())
	cmd.Flags().StringVarP(&f.project, "project-name", "p", "", "stack name (default: $COMPOSE_PROJECT_NAME, else from the file or its directory)")
	cmd.Flags().StringArrayVar(&f.set, "set", nil, "set a variable: --set KEY=VALUE")
	cmd.Flags().StringArrayVar(&f.profiles, "profile", nil, "activate a compose profile (repeatable; default $COMPOSE_PROFILES)")
	cmd.Flags().StringArrayVar(&f.envFiles, "env-file", nil, "compose: read interpolation variables from this file instead of .env (repeatable)")
	addSocketFlag(cmd, &f.socket)
}

// options are the stack.LoadOptions the flags say.
func (f *stackFlags) options(stderr io.Writer) (stack.LoadOptions, error) {
	env, err := f.environment.Resolve(stderr)
	if err != nil {
		return stack.LoadOptions{}, err
	}
	f.env = env
	set, err := cliflag.ParseSet(f.set)
	if err != nil {
		return stack.LoadOptions{}, err
	}
	return stack.LoadOptions{Files: f.files, Env: env, ProjectName: f.project, Profiles: f.profiles, EnvFiles: f.envFiles, Set: set}, nil
}

func (f *stackFlags) load(ctx context.Context, stderr io.Writer) (*stack.Stack, error) {
	o, err := f.options(stderr)
	if err != nil {
		return nil, err
	}
	st, warns, err := stack.Load(ctx, o)
	if err != nil {
		return nil, err
	}
	if len(warns) > 0 {
		fmt.Fprintln(stderr, stack.FormatWarnings(warns))
	}
	return st, nil
}

// stackName is -p, else the name of the stack the file describes.
func (f *stackFlags) stackName(cmd *cobra.Command) (string, error) {
	if f.project != "" {
		return f.project, nil
	}
	st, err := f.load(cmd.Context(), cmd.ErrOrStderr())
	if err != nil {
		return "", err
	}
	return st.Name, nil
}

// targets reads the environments' registries of the stack's file, with the
// same variables.
func (f *stackFlags) targets(st *stack.Stack) func() (map[string]stack.Target, error) {
	return func() (map[string]stack.Target, error) {
		o, err := f.options(io.Discard)
		if err != nil {
			return nil, err
		}
		return stack.LoadTargets(st.Files[0], o)
	}
}

// pipeline wires the release pipeline to berth's builder (berth.yaml with
// --set, progress on stderr), the registries and the daemon on --socket.
func (f *stackFlags) pipeline(cmd *cobra.Command, st *stack.Stack) *release.Pipeline {
	progress := cmd.ErrOrStderr()
	return &release.Pipeline{
		Builder: func() (release.Builder, error) {
			file, err := (&specFlags{file: st.Files[0], set: f.set}).load()
			if err != nil {
				return nil, err
			}
			sb, err := release.NewSpecBuilder(file, func(e build.Event) { fmt.Fprintln(progress, build.FormatEvent(e)) })
			if sb != nil {
				sb.Version = version
			}
			return sb, err
		},
		Registry: release.RemoteRegistry{},
		Attester: release.NewReferrerAttester(imageref.Options{}),
		Daemon:   client.New(f.socket),
		LocalDir: build.CacheDir,
		Progress: progress,
	}
}

func newUpCommand() *cobra.Command {
	var f stackFlags
	var detach, wait bool
	var waitTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "up [SERVICE...]",
		Short: "Create or update a stack's containers",
		Long: `up makes the daemon run the stack: it builds services' berth.yaml images,
creates missing containers, replaces changed ones and removes surplus ones.
With SERVICE arguments, as in compose, only those services and the services
they depend on are created or replaced; the others are left as they are.
Containers run detached (under the daemon) either way; -d is accepted for
compose users. --wait returns only once every container runs and is healthy.`,
		Example: `  berth up
  berth up web
  berth up -f compose.yaml
  berth up -E prod --wait`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_ = detach
			st, err := f.load(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			var only []string
			if len(args) > 0 {
				if only, err = st.Select(args); err != nil {
					return err
				}
			}
			spec, err := f.pipeline(cmd, st).Prepare(cmd.Context(), st, release.Request{Mode: release.Up})
			if err != nil {
				return err
			}
			spec.Only = only
			c := client.New(f.socket)
			cs, err := c.Up(cmd.Context(), spec)
			if err != nil {
				return err
			}
			if wait {
				if cs, err = release.WaitReady(cmd.Context(), c, st.Name, waitTimeout, release.PollInterval); err != nil {
					engine.WriteContainers(cmd.ErrOrStderr(), cs, shortDigest)
					return err
				}
			}
			engine.WriteContainers(cmd.OutOrStdout(), cs, shortDigest)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVarP(&detach, "detach", "d", true, "run in the background (always: containers run under the daemon)")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until every container is running and healthy")
	cliflag.TimeoutVarP(cmd.Flags(), &waitTimeout, "wait-timeout", "", 2*time.Minute, "how long --wait waits, in seconds (or a duration like 2m)")
	return cmd
}

func newDownCommand() *cobra.Command {
	var f stackFlags
	var volumes bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:     "down",
		Short:   "Remove a stack's containers and network",
		Example: "  berth down\n  berth down -v -p shop\n  berth down -t 30",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			name, err := f.stackName(cmd)
			if err != nil {
				return err
			}
			return client.New(f.socket).Down(cmd.Context(), name, client.DownOptions{Volumes: volumes, Timeout: timeout})
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "also remove the named volumes the stack's containers used")
	cliflag.TimeoutVarP(cmd.Flags(), &timeout, "timeout", "t", 0, "seconds (or a duration like 1m) each container gets to stop before SIGKILL (default: its stop_grace_period, else 10)")
	return cmd
}

func newPsCommand() *cobra.Command {
	var f stackFlags
	var allProjects, all, quiet, asJSON bool
	var format string
	cmd := &cobra.Command{
		Use:   "ps",
		Short: "List a stack's containers",
		Long: `ps lists the containers of the stack of the stack file (-f, else
berth.yaml / compose.yaml here or in a parent directory), or of -p NAME;
--all-projects lists every stack's. Like compose, exited containers are
listed only with -a. --json (kept from earlier berth versions) prints every
container of the stack as JSON, exited ones included.`,
		Example: `  berth ps
  berth ps -a -p shop --format json
  berth ps --all-projects -q`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch format {
			case "", "table":
			case "json":
			default:
				return fmt.Errorf("--format %q: want table or json", format)
			}
			name := ""
			if !allProjects {
				var err error
				if name, err = f.stackName(cmd); err != nil {
					return fmt.Errorf("%w (berth ps --all-projects lists every stack's containers)", err)
				}
			}
			cs, err := client.New(f.socket).Containers(cmd.Context(), name)
			if err != nil {
				return err
			}
			if asJSON {
				return writeIndentedJSON(cmd.OutOrStdout(), cs)
			}
			if !all {
				cs = slices.DeleteFunc(cs, engine.Container.Stopped)
			}
			switch {
			case quiet:
				for _, c := range cs {
					fmt.Fprintln(cmd.OutOrStdout(), c.Name)
				}
			case format == "json":
				return writeIndentedJSON(cmd.OutOrStdout(), cs)
			default:
				engine.WriteContainers(cmd.OutOrStdout(), cs, shortDigest)
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&allProjects, "all-projects", false, "list the containers of every stack")
	cmd.Flags().BoolVarP(&all, "all", "a", false, "include exited containers")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print container names only")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print every container of the stack (exited ones too) as JSON")
	return cmd
}

func newLogsCommand() *cobra.Command {
	var f stackFlags
	var follow, timestamps bool
	var since, until, tail string
	cmd := &cobra.Command{
		Use:   "logs [SERVICE...]",
		Short: "Show (and follow) the logs of a stack's containers, replicas interleaved",
		Example: `  berth logs -f
  berth logs web worker --tail 100 --since 10m
  berth logs --until 2026-01-02T15:04:05Z --file compose.yaml`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := logs.ParseTail(tail)
			if err != nil {
				return err
			}
			name, err := f.stackName(cmd)
			if err != nil {
				return err
			}
			o := client.LogsOptions{Services: args, Follow: follow, Since: since, Until: until, Tail: n}
			out := cmd.OutOrStdout()
			err = client.New(f.socket).Logs(cmd.Context(), name, o, func(e logs.Entry) error {
				return logs.Format(out, e, len(name)+8, timestamps)
			})
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
	f.addFile(cmd, "")
	f.addRest(cmd)
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep following new output")
	cmd.Flags().BoolVarP(&timestamps, "timestamps", "t", false, "show timestamps")
	cmd.Flags().StringVar(&since, "since", "", "only lines since a duration ago (10m) or an RFC 3339 time")
	cmd.Flags().StringVar(&until, "until", "", "only lines before a duration ago (10m) or an RFC 3339 time (following stops there)")
	cmd.Flags().StringVarP(&tail, "tail", "n", "all", "only the last N lines of each container, or all")
	return cmd
}
