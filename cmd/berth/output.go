package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/engine/api"
)

func writeIndentedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printResult prints v as indented JSON with --json, else as text does.
func printResult(w io.Writer, asJSON bool, v any, text func(io.Writer)) error {
	if asJSON {
		return writeIndentedJSON(w, v)
	}
	text(w)
	return nil
}

// removeEach removes every name with rm, saying "Removed NAME" for each;
// the errors are joined, but no daemon stops at once.
func removeEach(cmd *cobra.Command, names []string, rm func(ctx context.Context, name string) error) error {
	var errs []error
	for _, name := range names {
		if err := rm(cmd.Context(), name); err != nil {
			if errors.Is(err, api.ErrNoDaemon) {
				return err
			}
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Removed %s\n", name)
	}
	return errors.Join(errs...)
}
