package api

import (
	"strings"
	"testing"
)

func TestEndpointPathFillsAndEscapesWildcards(t *testing.T) {
	for _, tc := range []struct {
		e    Endpoint
		args []string
		want string
	}{
		{GetVersion, nil, "/version"},
		{StackUp, []string{"shop"}, "/stacks/shop/up"},
		{ServiceRollback, []string{"shop", "web"}, "/stacks/shop/services/web/rollback"},
		// References carry slashes and colons; a name cannot climb out.
		{RemoveImage, []string{"127.0.0.1:5000/shop/app:1"}, "/images/127.0.0.1:5000%2Fshop%2Fapp:1"},
		{RemoveVolume, []string{"../etc"}, "/volumes/..%2Fetc"},
		{StackLogs, []string{"a b?c"}, "/stacks/a%20b%3Fc/logs"},
	} {
		got, err := tc.e.Path(tc.args...)
		if err != nil || got != tc.want {
			t.Errorf("%s %q: %q, %v; want %q", tc.e, tc.args, got, err, tc.want)
		}
	}
	if got := ServiceHistory.MuxPattern(); got != "GET /v1/stacks/{name}/services/{service}/history" {
		t.Errorf("MuxPattern: %q", got)
	}
	if m := RemoveImage.Method(); m != "DELETE" {
		t.Errorf("Method: %q", m)
	}
}

func TestEndpointPathRefusesMissingEmptyOrExtraValues(t *testing.T) {
	for _, tc := range []struct {
		e        Endpoint
		args     []string
		fragment string
	}{
		{StackUp, nil, "no value for {name}"},
		{StackUp, []string{""}, "{name} is empty"},
		{ServiceHistory, []string{"shop"}, "no value for {service}"},
		{RemoveImage, []string{""}, "{ref} is empty"},
		{Prune, []string{"x"}, "1 values for 0 wildcards"},
	} {
		if _, err := tc.e.Path(tc.args...); err == nil || !strings.Contains(err.Error(), tc.fragment) {
			t.Errorf("%s %q: %v, want an error with %q", tc.e, tc.args, err, tc.fragment)
		}
	}
}
