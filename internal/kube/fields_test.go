package kube

import (
	"bytes"
	"fmt"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/model"
)

// edit is a change to one field: from (nil: base()) to to. The field is
// handled when the two translate differently (objects, warnings or an
// error).
type edit struct{ from, to func(*model.ServiceSpec) }

var two = uint64(2)

// fieldEdits has an entry for every field of model.ServiceSpec and of the
// structs it holds. A field added to the model without one fails
// TestEveryServiceFieldIsHandled: decide its mapping, then add it here.
var fieldEdits = map[string]edit{
	"Name":                {to: func(s *model.ServiceSpec) { s.Name = "other" }},
	"Image":               {to: func(s *model.ServiceSpec) { s.Image = "img:1" }},
	"Command":             {to: func(s *model.ServiceSpec) { s.Command = []string{"a"} }},
	"Entrypoint":          {to: func(s *model.ServiceSpec) { s.Entrypoint = []string{"b"} }},
	"Env":                 {to: func(s *model.ServiceSpec) { s.Env = map[string]string{"A": "1"} }},
	"User":                {to: func(s *model.ServiceSpec) { s.User = "1000" }},
	"WorkingDir":          {to: func(s *model.ServiceSpec) { s.WorkingDir = "/w" }},
	"Ports":               {to: func(s *model.ServiceSpec) { s.Ports = nil }},
	"Ports.HostIP":        {to: func(s *model.ServiceSpec) { s.Ports[0].HostIP = "127.0.0.1" }},
	"Ports.HostPort":      {to: func(s *model.ServiceSpec) { s.Ports[0].HostPort = 30081 }},
	"Ports.ContainerPort": {to: func(s *model.ServiceSpec) { s.Ports[0].ContainerPort = 81 }},
	"Ports.Protocol":      {to: func(s *model.ServiceSpec) { s.Ports[0].Protocol = "udp" }},
	"Mounts":              {to: func(s *model.ServiceSpec) { s.Mounts = []model.Mount{{Type: "tmpfs", Target: "/t"}} }},
	"Mounts.Type":         {to: func(s *model.ServiceSpec) { s.Mounts = []model.Mount{{Type: "volume", Target: "/t"}} }},
	"Mounts.Source":       {to: func(s *model.ServiceSpec) { s.Mounts = []model.Mount{{Type: "volume", Source: "v", Target: "/t"}} }},
	"Mounts.Target":       {to: func(s *model.ServiceSpec) { s.Mounts = []model.Mount{{Type: "tmpfs", Target: "/u"}} }},
	"Mounts.ReadOnly":     {to: func(s *model.ServiceSpec) { s.Mounts = []model.Mount{{Type: "tmpfs", Target: "/t", ReadOnly: true}} }},
	"Mounts.TmpfsSize": {to: func(s *model.ServiceSpec) {
		s.Mounts = []model.Mount{{Type: "tmpfs", Target: "/t", TmpfsSize: 1 << 20}}
	}},
	"Mounts.TmpfsMode": {to: func(s *model.ServiceSpec) { s.Mounts = []model.Mount{{Type: "tmpfs", Target: "/t", TmpfsMode: 0o700}} }},
	"Mounts.External": {to: func(s *model.ServiceSpec) {
		s.Mounts = []model.Mount{{Type: "volume", Source: "v", Target: "/t", External: true}}
	}},
	"Mounts.CreateHostPath": {
		from: func(s *model.ServiceSpec) { s.Mounts = []model.Mount{{Type: "bind", Source: "/h", Target: "/t"}} },
		to: func(s *model.ServiceSpec) {
			s.Mounts = []model.Mount{{Type: "bind", Source: "/h", Target: "/t", CreateHostPath: true}}
		}},
	"Secrets":            {to: func(s *model.ServiceSpec) { s.Secrets = []model.Secret{{Name: "s", File: "/f"}} }},
	"Secrets.Name":       {from: secret(model.Secret{}), to: secret(model.Secret{Name: "t"})},
	"Secrets.Target":     {from: secret(model.Secret{}), to: secret(model.Secret{Target: "/etc/s"})},
	"Secrets.File":       {from: secret(model.Secret{}), to: secret(model.Secret{File: "/g"})},
	"Secrets.UID":        {from: secret(model.Secret{}), to: secret(model.Secret{UID: 5})},
	"Secrets.GID":        {from: secret(model.Secret{}), to: secret(model.Secret{GID: 5})},
	"Secrets.Mode":       {from: secret(model.Secret{}), to: secret(model.Secret{Mode: 0o444})},
	"Health":             {to: func(s *model.ServiceSpec) { s.Health = nil }},
	"Health.Test":        {to: func(s *model.ServiceSpec) { s.Health.Test = []string{"CMD", "other"} }},
	"Health.Interval":    {to: func(s *model.ServiceSpec) { s.Health.Interval = time.Second }},
	"Health.Timeout":     {to: func(s *model.ServiceSpec) { s.Health.Timeout = time.Second }},
	"Health.StartPeriod": {to: func(s *model.ServiceSpec) { s.Health.StartPeriod = time.Second }},
	"Health.StartInterval": {
		from: func(s *model.ServiceSpec) { s.Health.StartPeriod = 10 * time.Second },
		to:   func(s *model.ServiceSpec) { s.Health.StartPeriod, s.Health.StartInterval = 10*time.Second, time.Second }},
	"Health.Retries":     {to: func(s *model.ServiceSpec) { s.Health.Retries = 7 }},
	"Restart":            {to: func(s *model.ServiceSpec) { s.Restart = model.RestartPolicy{Mode: model.RestartNo} }},
	"Restart.Mode":       {to: func(s *model.ServiceSpec) { s.Restart.Mode = model.RestartOnFailure }},
	"Restart.MaxRetries": {from: onFailure(0), to: onFailure(3)},
	"Replicas":           {to: func(s *model.ServiceSpec) { s.Replicas = 5 }},
	"MemoryBytes":        {to: func(s *model.ServiceSpec) { s.MemoryBytes = 1 << 20 }},
	"CPUs":               {to: func(s *model.ServiceSpec) { s.CPUs = 0.25 }},
	"Pids":               {to: func(s *model.ServiceSpec) { s.Pids = 100 }},
	"ReadOnly":           {to: func(s *model.ServiceSpec) { s.ReadOnly = true }},
	"CapAdd":             {to: func(s *model.ServiceSpec) { s.CapAdd = []string{"NET_ADMIN"} }},
	"CapDrop":            {to: func(s *model.ServiceSpec) { s.CapDrop = []string{"KILL"} }},
	"DependsOn":          {to: func(s *model.ServiceSpec) { s.DependsOn = map[string]string{"db": "service_started"} }},
	"OptionalDeps":       {to: func(s *model.ServiceSpec) { s.OptionalDeps = []string{"db"} }},
	"Configs":            {to: func(s *model.ServiceSpec) { s.Configs = []model.Config{{Name: "c", Target: "/c"}} }},
	"Configs.Name":       {from: config(model.Config{}), to: config(model.Config{Name: "d"})},
	"Configs.Target":     {from: config(model.Config{}), to: config(model.Config{Target: "/d"})},
	"Configs.File":       {from: config(model.Config{}), to: config(model.Config{File: "/f"})},
	"Configs.Content":    {from: config(model.Config{}), to: config(model.Config{Content: "x"})},
	"Configs.UID":        {from: config(model.Config{}), to: config(model.Config{UID: 5})},
	"Configs.GID":        {from: config(model.Config{}), to: config(model.Config{GID: 5})},
	"Configs.Mode":       {from: config(model.Config{}), to: config(model.Config{Mode: 0o400})},
	"Hostname":           {to: func(s *model.ServiceSpec) { s.Hostname = "h" }},
	"Labels":             {to: func(s *model.ServiceSpec) { s.Labels = map[string]string{"a": "b"} }},
	"StopSignal":         {to: func(s *model.ServiceSpec) { s.StopSignal = syscall.SIGQUIT }},
	"StopTimeout":        {to: func(s *model.ServiceSpec) { s.StopTimeout = 20 * time.Second }},
	"Proxy":              {to: func(s *model.ServiceSpec) { s.Proxy = &model.ProxyOptions{} }},
	"Proxy.Protocol":     {from: proxy(model.ProxyOptions{}), to: proxy(model.ProxyOptions{Protocol: "tcp"})},
	"Proxy.Hosts":        {from: proxy(model.ProxyOptions{}), to: proxy(model.ProxyOptions{Hosts: []string{"a.example"}})},
	"Proxy.Balance":      {from: proxy(model.ProxyOptions{}), to: proxy(model.ProxyOptions{Balance: "least_conn"})},
	"Proxy.DrainTimeout": {from: proxy(model.ProxyOptions{}), to: proxy(model.ProxyOptions{DrainTimeout: time.Second})},
	"Proxy.TLSCert":      {from: proxy(model.ProxyOptions{Hosts: []string{"a.example"}}), to: proxy(model.ProxyOptions{Hosts: []string{"a.example"}, TLSCert: "/c"})},
	"Proxy.TLSKey": {from: proxy(model.ProxyOptions{Hosts: []string{"a.example"}, TLSCert: "/c", TLSKey: "/k"}),
		to: proxy(model.ProxyOptions{Hosts: []string{"a.example"}, TLSCert: "/c", TLSKey: "/l"})},
	"Proxy.TLSAuto":                 {from: proxy(model.ProxyOptions{Hosts: []string{"a.example"}}), to: proxy(model.ProxyOptions{Hosts: []string{"a.example"}, TLSAuto: true})},
	"Proxy.NoRedirect":              {from: proxy(model.ProxyOptions{Hosts: []string{"a.example"}, TLSAuto: true}), to: proxy(model.ProxyOptions{Hosts: []string{"a.example"}, TLSAuto: true, NoRedirect: true})},
	"Proxy.ACME":                    {from: proxy(model.ProxyOptions{Hosts: []string{"a.example"}, TLSAuto: true}), to: proxy(model.ProxyOptions{Hosts: []string{"a.example"}, TLSAuto: true, ACME: &model.ACMESettings{}})},
	"Proxy.ACME.Directory":          {from: acme(model.ACMESettings{}), to: acme(model.ACMESettings{Directory: "https://ca.example/dir"})},
	"Proxy.ACME.Email":              {from: acme(model.ACMESettings{}), to: acme(model.ACMESettings{Email: "ops@example.com"})},
	"Proxy.ACME.CARoots":            {from: acme(model.ACMESettings{}), to: acme(model.ACMESettings{CARoots: "PEM"})},
	"Proxy.ACME.Challenge":          {from: acme(model.ACMESettings{}), to: acme(model.ACMESettings{Challenge: "tls-alpn-01"})},
	"Proxy.ACME.RenewBefore":        {from: acme(model.ACMESettings{}), to: acme(model.ACMESettings{RenewBefore: time.Hour})},
	"Proxy.HSTS":                    {from: proxy(model.ProxyOptions{Hosts: []string{"a.example"}}), to: proxy(model.ProxyOptions{Hosts: []string{"a.example"}, HSTS: time.Hour})},
	"Proxy.BackendProtocol":         {from: proxy(model.ProxyOptions{}), to: proxy(model.ProxyOptions{BackendProtocol: "h2c"})},
	"Proxy.Timeouts":                {from: proxy(model.ProxyOptions{}), to: proxy(model.ProxyOptions{Timeouts: model.ProxyTimeouts{Write: time.Second}})},
	"Proxy.Timeouts.ReadBody":       {from: proxy(model.ProxyOptions{}), to: proxy(model.ProxyOptions{Timeouts: model.ProxyTimeouts{ReadBody: time.Second}})},
	"Proxy.Timeouts.ResponseHeader": {from: proxy(model.ProxyOptions{}), to: proxy(model.ProxyOptions{Timeouts: model.ProxyTimeouts{ResponseHeader: time.Second}})},
	"Proxy.Timeouts.Write":          {from: proxy(model.ProxyOptions{}), to: proxy(model.ProxyOptions{Timeouts: model.ProxyTimeouts{Write: time.Second}})},
	"Update":                        {to: func(s *model.ServiceSpec) { s.Update = &model.UpdateConfig{Order: "stop-first"} }},
	"Rollback":                      {to: func(s *model.ServiceSpec) { s.Rollback = &model.UpdateConfig{} }},
}

func init() {
	for _, f := range []struct {
		name string
		set  func(*model.UpdateConfig)
	}{
		{"Parallelism", func(u *model.UpdateConfig) { u.Parallelism = &two }},
		{"Delay", func(u *model.UpdateConfig) { u.Delay = time.Second }},
		{"FailureAction", func(u *model.UpdateConfig) { u.FailureAction = "pause" }},
		{"Monitor", func(u *model.UpdateConfig) { u.Monitor = time.Minute }},
		{"MaxFailureRatio", func(u *model.UpdateConfig) { u.MaxFailureRatio = 0.5 }},
		{"Order", func(u *model.UpdateConfig) { u.Order = "stop-first" }},
	} {
		fieldEdits["Update."+f.name] = edit{from: update(false, nil), to: update(false, f.set)}
		fieldEdits["Rollback."+f.name] = edit{from: update(true, nil), to: update(true, f.set)}
	}
}

func secret(v model.Secret) func(*model.ServiceSpec) {
	return func(s *model.ServiceSpec) {
		sec := model.Secret{Name: "s", File: "/f"}
		if v.Name != "" {
			sec.Name = v.Name
		}
		if v.File != "" {
			sec.File = v.File
		}
		sec.Target, sec.UID, sec.GID, sec.Mode = v.Target, v.UID, v.GID, v.Mode
		s.Secrets = []model.Secret{sec}
	}
}

func config(v model.Config) func(*model.ServiceSpec) {
	return func(s *model.ServiceSpec) {
		c := model.Config{Name: "c", Target: "/c", File: v.File, Content: v.Content, UID: v.UID, GID: v.GID, Mode: v.Mode}
		if v.Name != "" {
			c.Name = v.Name
		}
		if v.Target != "" {
			c.Target = v.Target
		}
		s.Configs = []model.Config{c}
	}
}

func proxy(p model.ProxyOptions) func(*model.ServiceSpec) {
	return func(s *model.ServiceSpec) { s.Proxy = &p }
}

func acme(a model.ACMESettings) func(*model.ServiceSpec) {
	return func(s *model.ServiceSpec) {
		s.Proxy = &model.ProxyOptions{Hosts: []string{"a.example"}, TLSAuto: true, ACME: &a}
	}
}

func onFailure(n int) func(*model.ServiceSpec) {
	return func(s *model.ServiceSpec) {
		s.Restart = model.RestartPolicy{Mode: model.RestartOnFailure, MaxRetries: n}
	}
}

func update(rollback bool, set func(*model.UpdateConfig)) func(*model.ServiceSpec) {
	return func(s *model.ServiceSpec) {
		u := &model.UpdateConfig{}
		if set != nil {
			set(u)
		}
		if rollback {
			s.Rollback = u
		} else {
			s.Update = u
		}
	}
}

// fieldPaths lists every field of t and of the model structs it holds
// (through pointers and slices), as dotted paths.
func fieldPaths(prefix string, t reflect.Type) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t.PkgPath() != reflect.TypeFor[model.ServiceSpec]().PkgPath() {
		return nil
	}
	var out []string
	for i := range t.NumField() {
		p := prefix + t.Field(i).Name
		out = append(out, p)
		out = append(out, fieldPaths(p+".", t.Field(i).Type)...)
	}
	return out
}

// outcome is everything a translation says about a service.
func outcome(s model.ServiceSpec) string {
	read := func(p string) ([]byte, error) { return []byte("data of " + p), nil }
	r, err := Translate(model.StackSpec{Name: "shop", Services: []model.ServiceSpec{s}}, Options{ReadFile: read, SecretValues: true})
	if err != nil {
		return "error: " + err.Error()
	}
	y, err := MarshalYAML(r.Objects)
	if err != nil {
		return "yaml error: " + err.Error()
	}
	return fmt.Sprintf("%s\nwarnings: %v", y, r.Warnings)
}

// Every field of model.ServiceSpec (recursively) is mapped, warned about
// or refused: changing it changes the objects, the warnings or the error.
// Never dropped silently.
func TestEveryServiceFieldIsHandled(t *testing.T) {
	paths := fieldPaths("", reflect.TypeFor[model.ServiceSpec]())
	if len(paths) < 60 {
		t.Fatalf("only %d fields found: %v", len(paths), paths)
	}
	for _, p := range paths {
		e, ok := fieldEdits[p]
		if !ok {
			t.Errorf("model.ServiceSpec field %s has no entry in fieldEdits: map it (or warn about it, or refuse it) in internal/kube, document it in docs/kubernetes.md, and add an edit here", p)
			continue
		}
		from, to := base(), base()
		if e.from != nil {
			e.from(&from)
			e.from(&to)
		}
		e.to(&to)
		a, b := outcome(from), outcome(to)
		if a == b {
			t.Errorf("%s: changing it changes nothing in the translation (silently dropped):\n%s", p, a)
		}
	}
	for p := range fieldEdits {
		found := false
		for _, q := range paths {
			found = found || p == q
		}
		if !found {
			t.Errorf("fieldEdits has %s, which model.ServiceSpec does not", p)
		}
	}
}

// Same input, same bytes: maps are iterated in sorted order.
func TestTranslationIsDeterministic(t *testing.T) {
	s := fullStack()
	s[1].Env = map[string]string{"A": "1", "B": "2", "C": "3", "D": "4", "E": "5"}
	s[1].Labels = map[string]string{"x": "1", "y": "2", "z": "3"}
	first := outcome(s[1])
	for range 20 {
		if outcome(s[1]) != first {
			t.Fatal("two translations differ")
		}
	}
	r1, r2 := translate(t, Options{}, s...), translate(t, Options{}, s...)
	y1, _ := MarshalYAML(r1.Objects)
	y2, _ := MarshalYAML(r2.Objects)
	if !bytes.Equal(y1, y2) {
		t.Error("stack translations differ")
	}
}
