package benchkit

import (
	"net"
	"testing"
)

func TestFreeAddrCanBeBound(t *testing.T) {
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("FreeAddr = %s, not bindable: %v", addr, err)
	}
	l.Close()
	if port, err := FreePort(); err != nil || port <= 0 || port > 65535 {
		t.Errorf("FreePort = %d, %v", port, err)
	}
}
