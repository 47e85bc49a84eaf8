package sign

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/berth-dev/berth/internal/keyagent"
)

// PrivateKey returns the signing key of the key file at path: from the key
// agent when one is set (p.Agent or $BERTH_KEY_AGENT) and holds that file's
// key, else decrypted with the password asked through p. An agent that
// cannot be reached is reported on p.Out and the file is decrypted.
func (p Prompt) PrivateKey(path string) (*PrivateKey, error) {
	p = p.defaults()
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	if p.Agent != nil {
		s, err := p.Agent.Signer(context.Background(), keyagent.KeyID(data))
		switch {
		case err == nil:
			k, err := newPrivateKey(s)
			if err != nil {
				return nil, fmt.Errorf("key %s from the agent: %w", path, err)
			}
			k.public.Path = path
			return k, nil
		case !errors.Is(err, keyagent.ErrNotLoaded):
			fmt.Fprintf(p.Out, "berth: %v; decrypting %s instead\n", err, path)
		}
	}
	pw, err := p.Password("private key "+path, false)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	defer clear(pw) // the password is needed only to decrypt
	k, err := ParsePrivateKey(data, pw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	k.public.Path = path
	return k, nil
}

// AddToAgent decrypts the key file at path (password through p) and loads
// it into the agent (p.Agent or $BERTH_KEY_AGENT) for ttl (0: until the
// agent stops), named by the file's content so that later commands given
// the same file sign through the agent. It waits up to 5 s for an agent
// just started.
func (p Prompt) AddToAgent(ctx context.Context, path string, ttl time.Duration) (keyagent.Entry, error) {
	p = p.defaults()
	if p.Agent == nil {
		return keyagent.Entry{}, fmt.Errorf("no key agent: set %s to the socket berth key agent prints", keyagent.EnvSocket)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second) // an agent just started with &
	err := p.Agent.WaitReady(wctx)
	cancel()
	if err != nil {
		return keyagent.Entry{}, err
	}
	data, err := readKeyFile(path)
	if err != nil {
		return keyagent.Entry{}, err
	}
	pw, err := p.Password("private key "+path, false)
	if err != nil {
		return keyagent.Entry{}, fmt.Errorf("key %s: %w", path, err)
	}
	defer clear(pw)
	k, err := ParsePrivateKey(data, pw)
	if err != nil {
		return keyagent.Entry{}, fmt.Errorf("%s: %w", path, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.signer)
	if err != nil {
		return keyagent.Entry{}, fmt.Errorf("%s: %v", path, err)
	}
	defer clear(der)
	return p.Agent.Add(ctx, keyagent.KeyID(data), path, der, ttl)
}
