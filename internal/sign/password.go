package sign

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/berth-dev/berth/internal/keyagent"
)

// Password environment variables, in the order they are consulted. A set
// but empty variable means the empty password (cosign's convention).
var passwordEnv = []string{"BERTH_PASSWORD", "COSIGN_PASSWORD"}

// Prompt reads a password without echo; Terminal says whether one is
// there. The zero Prompt uses the process's stdin and stderr.
type Prompt struct {
	Terminal func() bool
	Read     func() ([]byte, error)
	Out      io.Writer
	Getenv   func(string) (string, bool)
	// Agent holds decrypted keys (berth key agent); nil means
	// $BERTH_KEY_AGENT's, if that is set.
	Agent *keyagent.Client
}

func (p Prompt) defaults() Prompt {
	if p.Getenv == nil {
		p.Getenv = os.LookupEnv
	}
	if p.Terminal == nil {
		p.Terminal = func() bool { return term.IsTerminal(int(os.Stdin.Fd())) }
	}
	if p.Read == nil {
		p.Read = func() ([]byte, error) { return term.ReadPassword(int(os.Stdin.Fd())) }
	}
	if p.Out == nil {
		p.Out = os.Stderr
	}
	if p.Agent == nil {
		p.Agent = keyagent.FromEnv(p.Getenv)
	}
	return p
}

// Password returns the key password: $BERTH_PASSWORD, else
// $COSIGN_PASSWORD, else asked on the terminal (twice when confirm, as for
// a new key). Without any of them it fails saying how to give one.
func (p Prompt) Password(what string, confirm bool) ([]byte, error) {
	p = p.defaults()
	for _, env := range passwordEnv {
		if v, ok := p.Getenv(env); ok {
			return []byte(v), nil
		}
	}
	if !p.Terminal() {
		return nil, errors.New("no password: set BERTH_PASSWORD (or COSIGN_PASSWORD; empty is allowed) or run on a terminal")
	}
	fmt.Fprintf(p.Out, "Enter password for %s: ", what)
	pw, err := p.Read()
	fmt.Fprintln(p.Out)
	if err != nil {
		return nil, fmt.Errorf("reading password: %w", err)
	}
	if confirm {
		fmt.Fprint(p.Out, "Enter password again: ")
		again, err := p.Read()
		fmt.Fprintln(p.Out)
		if err != nil {
			return nil, fmt.Errorf("reading password: %w", err)
		}
		if !bytes.Equal(pw, again) {
			return nil, errors.New("passwords do not match")
		}
	}
	return pw, nil
}
