package vuln

import (
	"testing"

	"github.com/berth-dev/berth/internal/deb"
)

func TestMatchRangesAndVersions(t *testing.T) {
	debQ := func(v string) query {
		return query{ecosystem: "Debian:12", version: v, compare: deb.CompareVersions, valid: validDebian}
	}
	goQ := func(v string) query {
		return query{ecosystem: "Go", version: v, compare: compareSemver, valid: validSemver}
	}
	ev := func(kind, v string) Event {
		switch kind {
		case "i":
			return Event{Introduced: v}
		case "f":
			return Event{Fixed: v}
		case "l":
			return Event{LastAffected: v}
		}
		return Event{Limit: v}
	}
	rng := func(typ string, evs ...Event) Affected { return Affected{Ranges: []Range{{Type: typ, Events: evs}}} }
	cases := []struct {
		name  string
		a     Affected
		q     query
		want  bool
		fixed string
	}{
		{"deb below fix", rng("ECOSYSTEM", ev("i", "0"), ev("f", "2.36-9+deb12u10")), debQ("2.36-9+deb12u4"), true, "2.36-9+deb12u10"},
		{"deb at fix", rng("ECOSYSTEM", ev("i", "0"), ev("f", "2.36-9+deb12u10")), debQ("2.36-9+deb12u10"), false, ""},
		{"deb epoch beats upstream", rng("ECOSYSTEM", ev("i", "0"), ev("f", "1:0.9")), debQ("2.0"), true, "1:0.9"},
		{"deb tilde before release", rng("ECOSYSTEM", ev("i", "0"), ev("f", "1.0")), debQ("1.0~rc1"), true, "1.0"},
		{"deb unfixed", rng("ECOSYSTEM", ev("i", "0")), debQ("99:1"), true, ""},
		{"deb below introduced", rng("ECOSYSTEM", ev("i", "2.0-1"), ev("f", "2.0-3")), debQ("1.9-1"), false, ""},
		{"last_affected inclusive", rng("ECOSYSTEM", ev("i", "0"), ev("l", "1.0-2")), debQ("1.0-2"), true, ""},
		{"past last_affected", rng("ECOSYSTEM", ev("i", "0"), ev("l", "1.0-2")), debQ("1.0-2+deb12u1"), false, ""},
		{"limit", rng("SEMVER", ev("i", "1.0.0"), ev("lim", "2.0.0")), goQ("2.0.0"), false, ""},
		{"go second branch", rng("SEMVER", ev("i", "0"), ev("f", "1.21.11"), ev("i", "1.22.0-0"), ev("f", "1.22.4")), goQ("1.22.3"), true, "1.22.4"},
		{"go between branches", rng("SEMVER", ev("i", "0"), ev("f", "1.21.11"), ev("i", "1.22.0-0"), ev("f", "1.22.4")), goQ("1.21.12"), false, ""},
		{"go events out of order", rng("SEMVER", ev("f", "0.3.8"), ev("i", "0")), goQ("0.3.7"), true, "0.3.8"},
		{"go pseudo-version", rng("SEMVER", ev("i", "0"), ev("f", "0.0.0-20220906165146-f3363e06e74c")), goQ("0.0.0-20220101000000-abcdefabcdef"), true, "0.0.0-20220906165146-f3363e06e74c"},
		{"git ignored", rng("GIT", ev("i", "0")), goQ("1.0.0"), false, ""},
		{"versions list", Affected{Versions: []string{"2.5.0-1", "2.5.0-1+deb12u1"}}, debQ("2.5.0-1+deb12u1"), true, ""},
		{"versions list, other", Affected{Versions: []string{"2.5.0-1"}}, debQ("2.5.0-1+deb12u1"), false, ""},
		{"versions list with a later fix", Affected{Versions: []string{"1.0-1"}, Ranges: []Range{{Type: "ECOSYSTEM", Events: []Event{{Introduced: "2.0-1"}, {Fixed: "2.0-2"}}}}}, debQ("1.0-1"), true, "2.0-2"},
	}
	for _, c := range cases {
		v := match(c.a, c.q)
		if v.Affected != c.want || v.Fixed != c.fixed {
			t.Errorf("%s: match = %+v, want affected %v fixed %q", c.name, v, c.want, c.fixed)
		}
	}
}

func TestDebianEcosystem(t *testing.T) {
	for in, want := range map[string]string{"": "Debian:12", "debian-12": "Debian:12", "debian-12.5": "Debian:12", "bookworm": "Debian:12", "debian-11": "Debian:11", "trixie": "Debian:13"} {
		if got, err := DebianEcosystem(in); err != nil || got != want {
			t.Errorf("DebianEcosystem(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := DebianEcosystem("ubuntu-22.04"); err == nil {
		t.Error("ubuntu accepted as Debian")
	}
}
