package kube

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

func TestSecurityContextIsTheEngines(t *testing.T) {
	s := base()
	s.User, s.ReadOnly = "65532:65533", true
	s.CapAdd, s.CapDrop = []string{"cap_net_admin"}, []string{"NET_RAW", "MKNOD"}
	sc := find[*appsv1.Deployment](t, translate(t, Options{}, s), "Deployment", "web").Spec.Template.Spec.Containers[0].SecurityContext
	if *sc.AllowPrivilegeEscalation || sc.SeccompProfile.Type != "RuntimeDefault" || !*sc.ReadOnlyRootFilesystem || *sc.RunAsUser != 65532 || *sc.RunAsGroup != 65533 {
		t.Errorf("security context %+v", sc)
	}
	if fmt.Sprint(sc.Capabilities.Drop) != "[ALL]" ||
		fmt.Sprint(sc.Capabilities.Add) != "[AUDIT_WRITE CHOWN DAC_OVERRIDE FOWNER FSETID KILL NET_ADMIN NET_BIND_SERVICE SETFCAP SETGID SETPCAP SETUID SYS_CHROOT]" {
		t.Errorf("capabilities %+v", sc.Capabilities)
	}
	s = base()
	s.User = "1000"
	sc = find[*appsv1.Deployment](t, translate(t, Options{}, s), "Deployment", "web").Spec.Template.Spec.Containers[0].SecurityContext
	if *sc.RunAsUser != 1000 || sc.RunAsGroup != nil || len(sc.Capabilities.Add) != len(dockerCapabilities) {
		t.Errorf("uid only: %+v", sc)
	}
}

func TestCapabilitiesAll(t *testing.T) {
	c, _ := capabilities([]string{"ALL"}, nil)
	if fmt.Sprint(c.Add) != "[ALL]" {
		t.Errorf("cap_add ALL: %v", c.Add)
	}
	c, _ = capabilities([]string{"NET_BIND_SERVICE"}, []string{"ALL"})
	if fmt.Sprint(c.Add) != "[NET_BIND_SERVICE]" {
		t.Errorf("cap_drop ALL: %v", c.Add)
	}
}
