package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/console"
	"github.com/berth-dev/berth/internal/registry/metadata"
	"github.com/berth-dev/berth/internal/registry/names"
)

// ConsoleConfig is the registry's web console (set by the program's
// flags, not the file): Addr to serve it on, Users an htpasswd file of
// bcrypt hashes (empty: a one-time login token is logged), AnonymousRead
// whether pages read without a login.
type ConsoleConfig = console.Access

// consolePort adapts the registry's metadata to the console's Registry
// port: in process, every repository (the console has its own login; the
// registry's access rules are for its API clients). Delete goes through
// the API's own delete path, so the repository rules on what may be
// deleted (immutable tags) hold for the console too.
type consolePort struct{ r *Registry }

const consolePage = 1000

func (p consolePort) Repositories(context.Context) ([]string, error) {
	var out []string
	last := ""
	for {
		repos, more, err := p.r.meta.Repositories(last, consolePage)
		if err != nil {
			return nil, err
		}
		out = append(out, repos...)
		if !more || len(repos) == 0 {
			return out, nil
		}
		last = repos[len(repos)-1]
	}
}

func (p consolePort) Tags(_ context.Context, repo string) ([]console.Tag, error) {
	if !p.r.meta.RepoExists(repo) {
		return nil, fmt.Errorf("repository %q: %w", repo, console.ErrNoRepository)
	}
	var out []console.Tag
	last := ""
	for {
		tags, more, err := p.r.meta.Tags(repo, last, consolePage)
		if err != nil {
			return nil, err
		}
		for _, t := range tags {
			m, err := p.r.meta.Resolve(repo, t)
			if err != nil {
				continue // deleted meanwhile
			}
			out = append(out, console.Tag{Name: t, Digest: m.Digest.String(), MediaType: m.MediaType, Size: m.Size, Pushed: m.Pushed})
		}
		if !more || len(tags) == 0 {
			return out, nil
		}
		last = tags[len(tags)-1]
	}
}

func (p consolePort) Referrers(_ context.Context, repo, d string) ([]console.Referrer, error) {
	dg, err := digest.Parse(d)
	if err != nil {
		return nil, fmt.Errorf("digest %q: %w", d, err)
	}
	ms, err := p.r.meta.Referrers(repo, dg)
	if err != nil {
		return nil, err
	}
	var out []console.Referrer
	for _, m := range ms {
		at := m.ArtifactType
		if at == "" {
			at = m.MediaType
		}
		ref := console.Referrer{Digest: m.Digest.String(), ArtifactType: at, Size: m.Size}
		if m.ArtifactType == promotionArtifactType {
			// An unreadable record is still listed, as a referrer.
			ref.Promotion, _ = p.r.promotion(repo, m.Digest)
		}
		out = append(out, ref)
	}
	return out, nil
}

func (p consolePort) Delete(_ context.Context, repo, ref string) error {
	if err := names.ValidateRepository(repo); err != nil {
		return err
	}
	err := p.r.deleteReference(repo, ref)
	if errors.Is(err, metadata.ErrNotFound) {
		return fmt.Errorf("%s:%s: %w", repo, ref, console.ErrNoRepository)
	}
	return err
}

// serveConsole starts the registry's web console and returns its stop.
func (r *Registry) serveConsole(c ConsoleConfig, log *slog.Logger) (func(context.Context), error) {
	return console.Listen(c, console.Ports{Registry: consolePort{r}}, log)
}

// ConsolePort is the registry's port for the web console (also for tests).
func (r *Registry) ConsolePort() console.Registry { return consolePort{r} }
