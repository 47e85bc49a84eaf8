package main

import (
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/engine/api"
	"github.com/berth-dev/berth/internal/stack"
	"github.com/berth-dev/berth/internal/termio"
)

// exitProcess ends berth with the remote process's exit code (main only
// knows 0 and 1).
var exitProcess = os.Exit

func newExecCommand() *cobra.Command {
	var f stackFlags
	var interactive, tty bool
	var user string
	var env []string
	cmd := &cobra.Command{
		Use:   "exec [flags] SERVICE[/N] -- CMD [ARG...]",
		Short: "Run a command in a running container of a service",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			x, err := stack.ParseExec(args, env)
			if err != nil {
				return err
			}
			name, err := f.stackName(cmd)
			if err != nil {
				return err
			}
			req := api.ExecRequest{Args: x.Command, Env: env, User: user, Tty: tty, Stdin: interactive}
			var stdin io.Reader
			if interactive {
				stdin = cmd.InOrStdin()
			}

			term := &termio.Session{} // without -t: no terminal to set up or restore
			if tty {
				if term, err = termio.Setup(interactive); err != nil {
					return err
				}
				req.Width, req.Height = term.Width, term.Height
			}
			defer term.Restore()
			code, err := client.New(f.socket).Exec(cmd.Context(), x.Container(name), req,
				stdin, cmd.OutOrStdout(), cmd.ErrOrStderr(), term.Resize)
			term.Restore() // before the exit below
			if err != nil {
				return err
			}
			if code != 0 {
				exitProcess(code)
			}
			return nil
		},
	}
	cmd.Flags().SetInterspersed(false) // flags after SERVICE belong to CMD
	f.addFile(cmd, "f")
	cmd.Flags().StringVarP(&f.Project, "project-name", "p", "", "stack name (default: from the file or its directory)")
	addSocketFlag(cmd, &f.socket)
	cmd.Flags().BoolVarP(&interactive, "interactive", "i", false, "forward standard input")
	cmd.Flags().BoolVarP(&tty, "tty", "t", false, "give the command a terminal")
	cmd.Flags().StringVarP(&user, "user", "u", "", "run as uid[:gid] (default: the container's user)")
	cmd.Flags().StringArrayVarP(&env, "env", "e", nil, "set an environment variable: --env KEY=VALUE")
	return cmd
}
