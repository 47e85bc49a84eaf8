package model

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
)

// types is every type of the package that is serialised.
var types = []any{StackSpec{}, ServiceSpec{}, PortMapping{}, Mount{}, Secret{}, Config{},
	RestartPolicy{}, HealthCheck{}, UpdateConfig{}, ProxyOptions{}, ProxyTimeouts{}}

var durationType = reflect.TypeFor[time.Duration]()

// fill sets every field of v (recursively) to a non-zero value.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i))
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		v.SetMapIndex(k, e)
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Type() == durationType {
			v.SetInt(int64(90 * time.Second))
		} else {
			v.SetInt(3)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	}
}

func lowerCamel(key string) bool {
	r := []rune(key)
	return len(r) > 0 && unicode.IsLower(r[0]) && !strings.ContainsAny(key, "_- ")
}

// check walks a Go type and its JSON encoding together: every field has an
// explicit lower-camel key, present in the encoding; every time.Duration is
// a Duration string.
func check(t *testing.T, path string, typ reflect.Type, enc any) {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch {
	case typ == durationType:
		if s, ok := enc.(string); !ok || s != "1m30s" {
			t.Errorf("%s: Duration encoded as %#v, want \"1m30s\"", path, enc)
		}
	case typ.Kind() == reflect.Struct:
		obj, ok := enc.(map[string]any)
		if !ok {
			t.Errorf("%s: encoded as %T, want an object", path, enc)
			return
		}
		if len(obj) != typ.NumField() {
			t.Errorf("%s: %d keys for %d fields: %v", path, len(obj), typ.NumField(), obj)
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag, ok := f.Tag.Lookup("json")
			key, _, _ := strings.Cut(tag, ",")
			if !ok || !lowerCamel(key) {
				t.Errorf("%s.%s: json tag %q, want an explicit lower-camel key", path, f.Name, tag)
				continue
			}
			val, ok := obj[key]
			if !ok {
				t.Errorf("%s.%s: key %q missing from the encoding %v", path, f.Name, key, obj)
				continue
			}
			check(t, path+"."+key, f.Type, val)
		}
	case typ.Kind() == reflect.Slice:
		if arr, ok := enc.([]any); ok && len(arr) == 1 {
			check(t, path+"[0]", typ.Elem(), arr[0])
		} else {
			t.Errorf("%s: encoded as %#v, want a one-element array", path, enc)
		}
	case typ.Kind() == reflect.Map:
		if obj, ok := enc.(map[string]any); ok && len(obj) == 1 {
			for k, v := range obj {
				check(t, path+"["+k+"]", typ.Elem(), v)
			}
		} else {
			t.Errorf("%s: encoded as %#v, want a one-entry object", path, enc)
		}
	}
}

func TestJSONKeysAreLowerCamel(t *testing.T) {
	for _, v := range types {
		typ := reflect.TypeOf(v)
		t.Run(typ.Name(), func(t *testing.T) {
			p := reflect.New(typ)
			fill(p.Elem())
			raw, err := json.Marshal(p.Interface())
			if err != nil {
				t.Fatal(err)
			}
			var enc any
			if err := json.Unmarshal(raw, &enc); err != nil {
				t.Fatal(err)
			}
			check(t, typ.Name(), typ, enc)
			// And it reads back as it was.
			back := reflect.New(typ)
			if err := json.Unmarshal(raw, back.Interface()); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back.Elem().Interface(), p.Elem().Interface()) {
				t.Errorf("round trip changed the value:\n got %#v\nwant %#v", back.Elem().Interface(), p.Elem().Interface())
			}
		})
	}
}

// Records written before this package had upper-case keys and durations as
// integer nanoseconds; they read as the same values.
func TestPreModelEncodingReads(t *testing.T) {
	old := `{"Name":"web","WorkingDir":"/srv","Restart":{"Mode":"on-failure","MaxRetries":3},
		"Health":{"Test":["CMD","true"],"Interval":2000000000,"Timeout":1500000000,"StartPeriod":0,"StartInterval":500000000,"Retries":4},
		"StopSignal":3,"StopTimeout":25000000000,"CPUs":1.5,"MemoryBytes":1024,
		"Proxy":{"protocol":"http","drainTimeout":7000000000,"timeouts":{"readBody":"30s","write":"1m30s"}},
		"Update":{"delay":3000000000,"monitor":20000000000,"order":"start-first"}}`
	var s ServiceSpec
	if err := json.Unmarshal([]byte(old), &s); err != nil {
		t.Fatal(err)
	}
	want := ServiceSpec{Name: "web", WorkingDir: "/srv", Restart: RestartPolicy{Mode: RestartOnFailure, MaxRetries: 3},
		Health:     &HealthCheck{Test: []string{"CMD", "true"}, Interval: 2 * time.Second, Timeout: 1500 * time.Millisecond, StartInterval: 500 * time.Millisecond, Retries: 4},
		StopSignal: 3, StopTimeout: 25 * time.Second, CPUs: 1.5, MemoryBytes: 1024,
		Proxy:  &ProxyOptions{Protocol: "http", DrainTimeout: 7 * time.Second, Timeouts: ProxyTimeouts{ReadBody: 30 * time.Second, Write: 90 * time.Second}},
		Update: &UpdateConfig{Delay: 3 * time.Second, Monitor: 20 * time.Second, Order: "start-first"}}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got  %#v\nwant %#v", s, want)
	}
}

func TestDurationErrorsNameTheValue(t *testing.T) {
	var s ServiceSpec
	err := json.Unmarshal([]byte(`{"stopTimeout":"ten seconds"}`), &s)
	if err == nil || !strings.Contains(err.Error(), `"ten seconds"`) {
		t.Errorf("err = %v, want one naming the value", err)
	}
	err = json.Unmarshal([]byte(`{"health":{"interval":true}}`), &s)
	if err == nil || !strings.Contains(err.Error(), "true") {
		t.Errorf("err = %v, want one naming the value", err)
	}
}

func TestParseRestartPolicy(t *testing.T) {
	for in, want := range map[string]string{"": "no", "no": "no", "none": "no", "always": "always", "any": "always",
		"on-failure": "on-failure", "on-failure:3": "on-failure:3", "unless-stopped": "unless-stopped"} {
		p, err := ParseRestartPolicy(in)
		if err != nil || p.String() != want {
			t.Errorf("ParseRestartPolicy(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	for _, bad := range []string{"sometimes", "on-failure:x", "on-failure:-1", "always:3"} {
		if _, err := ParseRestartPolicy(bad); err == nil {
			t.Errorf("ParseRestartPolicy(%q) accepted", bad)
		}
	}
}

func TestHealthCheckValidate(t *testing.T) {
	for _, bad := range [][]string{nil, {"CMD"}, {"CMD-SHELL"}, {"HTTP", "a", "b"}, {"TCP", "8080"}, {"RUN", "x"}} {
		if err := (HealthCheck{Test: bad}).Validate(); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	for _, good := range [][]string{{"NONE"}, {"CMD", "x"}, {"CMD-SHELL", "x"}, {"HTTP", "http://:80/"}, {"TCP", ":5432"}} {
		if err := (HealthCheck{Test: good}).Validate(); err != nil {
			t.Errorf("%v: %v", good, err)
		}
	}
}
