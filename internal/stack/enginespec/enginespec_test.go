package enginespec

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/model"
	"github.com/berth-dev/berth/internal/stack"
)

// TestToSpecCarriesEveryField: what the loader honours reaches the engine
// (secrets' and configs' targets, owners and modes, tmpfs size and mode,
// create_host_path, external volumes, hostname, labels, optional
// dependencies) — nothing is dropped on the way.
func TestToSpecCarriesEveryField(t *testing.T) {
	st := &stack.Stack{
		Name:    "shop",
		Volumes: map[string]stack.Volume{"data": {Name: "shop_data"}, "shared": {Name: "shared", External: true}},
		Secrets: map[string]stack.Secret{"tok": {Name: "shop_tok", File: "/srv/tok"}},
		Configs: map[string]stack.Config{"conf": {Name: "shop_conf", Content: "a=1"}, "site": {Name: "shop_site", File: "/srv/site.conf"}},
		Services: []stack.Service{{
			Name: "app", Image: "app:1", Hostname: "app-host", Labels: map[string]string{"tier": "web"},
			Restart: stack.RestartPolicy{Mode: stack.RestartNo}, Replicas: 1,
			Volumes: []stack.Mount{
				{Type: stack.MountVolume, Source: "data", Target: "/data"},
				{Type: stack.MountVolume, Source: "shared", Target: "/shared", ReadOnly: true},
				{Type: stack.MountBind, Source: "/srv/www", Target: "/www", CreateHostPath: true},
				{Type: stack.MountTmpfs, Target: "/scratch", TmpfsSize: 1 << 20, TmpfsMode: 0o1770},
			},
			Secrets: []stack.SecretRef{
				{Source: "tok", Target: "/run/secrets/tok", Mode: 0o400},
				{Source: "tok", Target: "/etc/tok", Mode: 0o440, UID: "1000", GID: "1001"},
			},
			Configs: []stack.ConfigRef{
				{Source: "conf", Target: "/conf", Mode: 0o444},
				{Source: "site", Target: "/etc/site.conf", Mode: 0o400, UID: "101"},
			},
			DependsOn: map[string]stack.Dependency{
				"db":    {Condition: stack.ConditionHealthy, Required: true},
				"cache": {Condition: stack.ConditionStarted, Required: false},
			},
			Proxy: &stack.Proxy{Protocol: "http", Hosts: []string{"shop.example"}, Balance: "least_conn", DrainTimeout: time.Second,
				HSTS: time.Hour, TLSCert: "/c", TLSKey: "/k", BackendProtocol: "h2c",
				Timeouts: &stack.ProxyTimeouts{ReadBody: 1, ResponseHeader: 2, Write: 3}},
		}},
	}
	spec, err := FromStack(st)
	if err != nil {
		t.Fatal(err)
	}
	svc := spec.Services[0]
	wantMounts := []model.Mount{
		{Type: "volume", Source: "shop_data", Target: "/data"},
		{Type: "volume", Source: "shared", Target: "/shared", ReadOnly: true, External: true},
		{Type: "bind", Source: "/srv/www", Target: "/www", CreateHostPath: true},
		{Type: "tmpfs", Target: "/scratch", TmpfsSize: 1 << 20, TmpfsMode: 0o1770},
	}
	if !reflect.DeepEqual(svc.Mounts, wantMounts) {
		t.Errorf("mounts %+v\nwant %+v", svc.Mounts, wantMounts)
	}
	wantSecrets := []model.Secret{
		{Name: "tok", Target: "tok", File: "/srv/tok", Mode: 0o400},
		{Name: "tok", Target: "/etc/tok", File: "/srv/tok", UID: 1000, GID: 1001, Mode: 0o440},
	}
	if !reflect.DeepEqual(svc.Secrets, wantSecrets) {
		t.Errorf("secrets %+v\nwant %+v", svc.Secrets, wantSecrets)
	}
	wantConfigs := []model.Config{
		{Name: "conf", Target: "/conf", Content: "a=1", Mode: 0o444},
		{Name: "site", Target: "/etc/site.conf", File: "/srv/site.conf", UID: 101, Mode: 0o400},
	}
	if !reflect.DeepEqual(svc.Configs, wantConfigs) {
		t.Errorf("configs %+v\nwant %+v", svc.Configs, wantConfigs)
	}
	wantProxy := &model.ProxyOptions{Protocol: "http", Hosts: []string{"shop.example"}, Balance: "least_conn", DrainTimeout: time.Second,
		HSTS: time.Hour, TLSCert: "/c", TLSKey: "/k", BackendProtocol: "h2c", Timeouts: model.ProxyTimeouts{ReadBody: 1, ResponseHeader: 2, Write: 3}}
	if !reflect.DeepEqual(svc.Proxy, wantProxy) {
		t.Errorf("proxy %+v\nwant %+v", svc.Proxy, wantProxy)
	}
	if svc.Hostname != "app-host" || svc.Labels["tier"] != "web" {
		t.Errorf("hostname %q labels %v", svc.Hostname, svc.Labels)
	}
	if !reflect.DeepEqual(svc.OptionalDeps, []string{"cache"}) || svc.DependsOn["db"] != stack.ConditionHealthy {
		t.Errorf("depends_on %v optional %v", svc.DependsOn, svc.OptionalDeps)
	}

	// A secret without a file (the loader refuses environment: already)
	// and a non-numeric uid are refused, naming the service and field.
	bad := *st
	bad.Services = []stack.Service{st.Services[0]}
	bad.Services[0].Secrets = []stack.SecretRef{{Source: "tok", Target: "/x", Mode: 0o400, UID: "www"}}
	if _, err := FromStack(&bad); err == nil || !strings.Contains(err.Error(), "service app: secrets[0]: uid") {
		t.Errorf("non-numeric uid: %v", err)
	}
	bad.Secrets = map[string]stack.Secret{"tok": {Environment: "TOK"}}
	bad.Services[0].Secrets = []stack.SecretRef{{Source: "tok", Target: "/x", Mode: 0o400}}
	if _, err := FromStack(&bad); err == nil || !strings.Contains(err.Error(), "service app: secrets[0]") {
		t.Errorf("environment secret: %v", err)
	}
}

// The stack's acme: travels with its tls: auto services only, its roots
// as their PEM (the daemon may run elsewhere), not the file's path.
func TestToSpecCarriesACMEOnTLSAutoServices(t *testing.T) {
	st := &stack.Stack{Name: "shop",
		ACME: &stack.ACME{Directory: "https://ca.example.com/dir", Email: "ops@example.com", CARoots: "/srv/ca.pem", CARootsPEM: "PEM",
			Challenge: "tls-alpn-01", RenewBefore: 3},
		Services: []stack.Service{
			{Name: "web", Image: "web:1", Replicas: 1, Proxy: &stack.Proxy{Protocol: "http", Hosts: []string{"shop.example.com"}, TLSAuto: true}},
			{Name: "api", Image: "api:1", Replicas: 1, Proxy: &stack.Proxy{Protocol: "http", Hosts: []string{"api.example.com"}}},
		}}
	spec, err := FromStack(st)
	if err != nil {
		t.Fatal(err)
	}
	want := model.ACMESettings{Directory: "https://ca.example.com/dir", Email: "ops@example.com", CARoots: "PEM", Challenge: "tls-alpn-01", RenewBefore: 3}
	if a := spec.Services[0].Proxy.ACME; a == nil || *a != want {
		t.Fatalf("tls: auto service: acme %+v, want %+v", a, want)
	}
	if a := spec.Services[1].Proxy.ACME; a != nil {
		t.Fatalf("a service without tls: auto carries acme %+v", a)
	}
}
