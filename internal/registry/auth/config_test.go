package auth

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestTokenExpiryJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{in: `{"expiry":"5m"}`, want: 5 * time.Minute},
		{in: `{"expiry":"1h30m"}`, want: 90 * time.Minute},
		{in: `{}`, want: 0},
		{in: `{"expiry":null}`, want: 0},
		{in: `{"expiry":""}`, want: 0},
		{in: `{"expiry":300}`, wantErr: "token.expiry"},
		{in: `{"expiry":"five minutes"}`, wantErr: "token.expiry"},
	}
	for _, tt := range tests {
		var tc TokenConfig
		err := json.Unmarshal([]byte(tt.in), &tc)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want one naming %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if tc.Expiry != tt.want {
			t.Errorf("%s: expiry = %v, want %v", tt.in, tc.Expiry, tt.want)
		}
	}
}

func TestTokenConfigMarshalRoundTrip(t *testing.T) {
	in := TokenConfig{Realm: "https://r.example/auth/token", Service: "s", Issuer: "i", Expiry: 7 * time.Minute, KeyFile: "k"}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"expiry":"7m0s"`) {
		t.Fatalf("marshalled %s, want expiry as a duration string", data)
	}
	var out TokenConfig
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Fatalf("round trip: %+v, want %+v", out, in)
	}
}
