package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/engine"
)

// parseScale reads SERVICE=N arguments.
func parseScale(args []string) (map[string]int, error) {
	out := map[string]int{}
	for _, a := range args {
		svc, num, ok := strings.Cut(a, "=")
		if !ok || svc == "" {
			return nil, fmt.Errorf("%q: want SERVICE=N", a)
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: replicas must be a whole number of at least 1 (berth down stops a stack)", a)
		}
		if _, dup := out[svc]; dup {
			return nil, fmt.Errorf("service %s given twice", svc)
		}
		out[svc] = n
	}
	return out, nil
}

func newScaleCommand() *cobra.Command {
	var f stackFlags
	cmd := &cobra.Command{
		Use:   "scale SERVICE=N [SERVICE=N...]",
		Short: "Change the replica count of services of a running stack",
		Long: `Change how many replicas of services a running stack runs. Only the named
services change; running replicas are kept (new ones run the same image),
surplus ones are stopped. The stack is the one named by -p, else by the
stack file (-f, or berth.yaml/compose.yaml here). The new counts hold until
the next berth up.`,
		Example: "  berth scale web=3\n  berth scale -p shop web=1 worker=4",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			replicas, err := parseScale(args)
			if err != nil {
				return err
			}
			name, err := f.stackName(cmd)
			if err != nil {
				return err
			}
			cs, err := client.New(f.socket).Scale(cmd.Context(), name, replicas)
			if err != nil {
				return err
			}
			engine.WriteContainers(cmd.OutOrStdout(), cs, shortDigest)
			return nil
		},
	}
	f.add(cmd)
	return cmd
}
