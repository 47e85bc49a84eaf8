package runtime

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/moby/profiles/apparmor"
)

// AppArmorProfile is the name of the profile containers run under where
// the kernel enforces AppArmor: Docker's docker-default, generated and
// loaded by github.com/moby/profiles/apparmor (the same package Docker
// uses), under berth's own name.
const AppArmorProfile = "berth-default"

const appArmorEnabledFile = "/sys/module/apparmor/parameters/enabled"

// appArmorUsable decides whether containers get an AppArmor profile: the
// kernel must have AppArmor enabled (enabledFile reads "Y") and
// apparmor_parser must be there to load the profile. When not, reason
// says why, for the one line the daemon logs.
func appArmorUsable(enabledFile string, lookPath func(string) (string, error)) (ok bool, reason string) {
	b, err := os.ReadFile(enabledFile)
	if err != nil {
		return false, fmt.Sprintf("the kernel has no AppArmor (%s: %v)", enabledFile, err)
	}
	if v := strings.TrimSpace(string(b)); v != "Y" {
		return false, fmt.Sprintf("AppArmor is disabled in the kernel (%s is %q)", enabledFile, v)
	}
	if _, err := lookPath("apparmor_parser"); err != nil {
		return false, "AppArmor is enabled but apparmor_parser is not installed (apt-get install apparmor)"
	}
	return true, ""
}

// SetupAppArmor loads (or replaces) the containers' AppArmor profile when
// the host enforces AppArmor and returns its name for Container's
// AppArmorProfile. Where AppArmor is not usable it returns "" and the
// reason, and containers run without a profile, as Docker's do there.
func SetupAppArmor() (profile, skipped string, err error) {
	if ok, reason := appArmorUsable(appArmorEnabledFile, exec.LookPath); !ok {
		return "", reason, nil
	}
	if err := apparmor.InstallDefault(AppArmorProfile); err != nil {
		return "", "", fmt.Errorf("loading the AppArmor profile %s: %w", AppArmorProfile, err)
	}
	return AppArmorProfile, "", nil
}
