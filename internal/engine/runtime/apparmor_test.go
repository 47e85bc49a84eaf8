package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAppArmorDecision(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	found := func(string) (string, error) { return "/sbin/apparmor_parser", nil }
	missing := func(string) (string, error) { return "", errors.New("not found") }
	cases := []struct {
		name     string
		file     string
		lookPath func(string) (string, error)
		want     bool
		reason   string
	}{
		{"enabled", write("y", "Y\n"), found, true, ""},
		{"no parser", write("y2", "Y\n"), missing, false, "apparmor_parser is not installed"},
		{"disabled", write("n", "N\n"), found, false, "disabled"},
		{"no apparmor module", filepath.Join(dir, "absent"), found, false, "no AppArmor"},
	}
	for _, c := range cases {
		ok, reason := appArmorUsable(c.file, c.lookPath)
		if ok != c.want || !strings.Contains(reason, c.reason) || (ok && reason != "") {
			t.Errorf("%s: usable = %v, %q; want %v, %q", c.name, ok, reason, c.want, c.reason)
		}
	}
}

// On this host: the decision SetupAppArmor takes matches the kernel's
// AppArmor state, and a skipped setup says why.
func TestSetupAppArmorOnThisHost(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("loading a profile needs root")
	}
	profile, skipped, err := SetupAppArmor()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(appArmorEnabledFile)
	if strings.TrimSpace(string(b)) == "Y" && skipped == "" {
		if profile != AppArmorProfile {
			t.Errorf("profile = %q", profile)
		}
		t.Logf("AppArmor enabled: profile %s loaded", profile)
		return
	}
	if profile != "" || skipped == "" {
		t.Errorf("profile %q, skipped %q: want no profile and a reason", profile, skipped)
	}
	t.Logf("AppArmor skipped here: %s", skipped)
}

func TestSpecAppArmorProfile(t *testing.T) {
	rootfs := busyboxRootfs(t)
	s, err := Spec(t.Context(), Container{ID: "c1", Rootfs: rootfs, Args: []string{"sh"}, AppArmorProfile: AppArmorProfile})
	if err != nil {
		t.Fatal(err)
	}
	if s.Process.ApparmorProfile != AppArmorProfile {
		t.Errorf("apparmorProfile = %q, want %s", s.Process.ApparmorProfile, AppArmorProfile)
	}
	s, err = Spec(t.Context(), Container{ID: "c1", Rootfs: rootfs, Args: []string{"sh"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Process.ApparmorProfile != "" {
		t.Errorf("without AppArmor: apparmorProfile = %q, want none", s.Process.ApparmorProfile)
	}
	if _, err := Spec(t.Context(), Container{ID: "c1", Rootfs: rootfs, Args: []string{"sh"}, AppArmorProfile: "x y\n"}); err == nil || !strings.Contains(err.Error(), "AppArmor profile") {
		t.Errorf("bad profile name: err = %v", err)
	}
}
