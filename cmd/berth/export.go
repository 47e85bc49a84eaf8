package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/kube"
)

func newExportCommand() *cobra.Command {
	var f stackFlags
	var dir, tag string
	cmd := &cobra.Command{
		Use:   "export --kubernetes [-E ENV [--tag TAG]] [-o DIR]",
		Short: "Write the stack as Kubernetes manifests (GitOps: Argo CD, Flux)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := f.load(cmd)
			if err != nil {
				return err
			}
			env, err := f.Target(st)
			if err != nil {
				return err
			}
			res, err := kube.TranslateStack(st, env, tag, kube.Options{ReadFile: os.ReadFile})
			for _, w := range res.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			if err != nil {
				return err
			}
			return kube.Write(cmd.OutOrStdout(), dir, res.Objects)
		},
	}
	f.addFile(cmd, "f")
	f.AddRest(cmd.Flags())
	cmd.Flags().Bool("kubernetes", false, "export Kubernetes manifests (the only format)")
	cmd.Flags().StringVarP(&dir, "output", "o", "", "write one file per object into `DIR` (default: stdout)")
	cmd.Flags().StringVar(&tag, "tag", "", "with -E: the environment registry's images under `TAG`")
	_ = cmd.MarkFlagRequired("kubernetes")
	return cmd
}
