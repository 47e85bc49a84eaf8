package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/build"
	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/cliflag"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/engine/logs"
	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/kube/remote"
	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/internal/proxy"
	"github.com/berth-dev/berth/internal/release"
	"github.com/berth-dev/berth/internal/stack"
	"github.com/berth-dev/berth/internal/trust"
)

// stackFlags are shared by the commands that read a stack file.
type stackFlags struct {
	cliflag.Stack
	socket string
}

func (f *stackFlags) add(cmd *cobra.Command) {
	f.addFile(cmd, "f")
	f.addRest(cmd)
}

func (f *stackFlags) addFile(cmd *cobra.Command, short string) { f.AddFile(cmd.Flags(), short) }

func (f *stackFlags) addRest(cmd *cobra.Command) {
	f.AddRest(cmd.Flags())
	addSocketFlag(cmd, &f.socket)
}

func (f *stackFlags) load(cmd *cobra.Command) (*stack.Stack, error) {
	return f.Load(cmd.Context(), cmd.ErrOrStderr())
}

func (f *stackFlags) stackName(cmd *cobra.Command) (string, error) {
	return f.Name(cmd.Context(), cmd.ErrOrStderr())
}

// pipeline wires the release pipeline to berth's builder (berth.yaml with
// --set, progress on stderr), the registries (layer progress on stderr,
// none with --json: resultOnly) and the daemon on --socket.
func (f *stackFlags) pipeline(cmd *cobra.Command, st *stack.Stack, resultOnly bool) *release.Pipeline {
	stderr := cmd.ErrOrStderr()
	return &release.Pipeline{
		Builder: func() (release.Builder, error) {
			file, err := (&cliflag.Spec{File: st.Files[0], Set: f.Set}).Load()
			if err != nil {
				return nil, err
			}
			return release.NewSpecBuilder(file, stderr, version)
		},
		Registry: release.RemoteRegistry{Options: imageref.Options{Progress: progress.New(stderr, progress.Auto.Resolve(progress.IsTerminal(stderr), resultOnly)).Report}},
		Attester: &trust.Attester{},
		Daemon:   client.New(f.socket),
		LocalDir: build.CacheDir,
		Progress: stderr,
		Policy:   release.PolicyPorts{Ports: policyPorts(false)},
		Cluster:  remote.Check,
	}
}

func newUpCommand() *cobra.Command {
	var f stackFlags
	var detach, wait bool
	list := engine.ContainerList{All: true} // every container, as before
	var waitTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "up [SERVICE...]",
		Short: "Create or update a stack's containers",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := f.load(cmd)
			if err != nil {
				return err
			}
			r := release.UpRequest{Services: args, Wait: wait, WaitTimeout: waitTimeout}
			cs, err := f.pipeline(cmd, st, list.JSONAll).Up(cmd.Context(), st, client.New(f.socket), r)
			if errors.As(err, new(*release.WaitError)) {
				engine.WriteContainers(cmd.ErrOrStderr(), cs, shortDigest)
			}
			if err != nil {
				return err
			}
			return list.Write(cmd.OutOrStdout(), cs, shortDigest)
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&list.JSONAll, "json", false, "print the stack's containers as JSON (as ps --json)")
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
		Use:   "down",
		Short: "Remove a stack's containers and network",
		Args:  cobra.NoArgs,
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
	var allProjects bool
	var list engine.ContainerList
	cmd := &cobra.Command{
		Use:   "ps",
		Short: "List a stack's containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := list.Check(); err != nil {
				return err
			}
			name, b := "", remote.Stack(client.New(f.socket))
			if !allProjects {
				var err error
				if name, b, err = f.stackBackend(cmd); err != nil {
					return fmt.Errorf("%w (berth ps --all-projects lists every stack's containers)", err)
				}
			}
			cs, err := b.Containers(cmd.Context(), name)
			if err != nil {
				return err
			}
			if err := list.Write(cmd.OutOrStdout(), cs, shortDigest); err != nil {
				return err
			}
			c, local := b.(*client.Client)
			if !local || list.Quiet || list.JSONAll || list.Format != "table" {
				return nil
			}
			// The proxy's tls: auto certificates, when there are any.
			certs := func() ([]proxy.CertStatus, error) { return c.Certificates(cmd.Context()) }
			return proxy.WriteCertSection(cmd.OutOrStdout(), certs, time.Now())
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&allProjects, "all-projects", false, "list the containers of every stack")
	cmd.Flags().BoolVarP(&list.All, "all", "a", false, "include exited containers")
	cmd.Flags().BoolVarP(&list.Quiet, "quiet", "q", false, "print container names only")
	cmd.Flags().StringVar(&list.Format, "format", "table", "output format: table or json")
	cmd.Flags().BoolVar(&list.JSONAll, "json", false, "print every container of the stack (exited ones too) as JSON")
	return cmd
}

func newLogsCommand() *cobra.Command {
	var f stackFlags
	var follow, timestamps, asJSON bool
	var since, until, tail string
	cmd := &cobra.Command{
		Use:   "logs [SERVICE...]",
		Short: "Show (and follow) the logs of a stack's containers, replicas interleaved",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := logs.ParseTail(tail)
			if err != nil {
				return err
			}
			name, b, err := f.stackBackend(cmd)
			if err != nil {
				return err
			}
			o := client.LogsOptions{Services: args, Follow: follow, Since: since, Until: until, Tail: n}
			p := logs.Printer{W: cmd.OutOrStdout(), Stack: name, JSON: asJSON, Timestamps: timestamps}
			err = b.Logs(cmd.Context(), name, o, p.Entry)
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
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line: time, service, replica, container, stream, message")
	return cmd
}
