package daemon

import "testing"

func TestParseNetDevSumsAllButLoopback(t *testing.T) {
	raw := `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:   99999      10    0    0    0     0          0         0    99999      10    0    0    0     0       0          0
  eth0:    1500      12    0    0    0     0          0         0      700       8    0    0    0     0       0          0
  eth1:     500       2    0    0    0     0          0         0       30       1    0    0    0     0       0          0
`
	rx, tx, err := parseNetDev([]byte(raw))
	if err != nil || rx != 2000 || tx != 730 {
		t.Fatalf("rx %d tx %d err %v", rx, tx, err)
	}
	if _, _, err := parseNetDev([]byte("h1\nh2\n  eth0: 12 x\n")); err == nil {
		t.Fatal("a truncated line parsed")
	}
	if _, _, err := parseNetDev([]byte("h1\nh2\n  eth0: x 0 0 0 0 0 0 0 y 0 0 0 0 0 0 0\n")); err == nil {
		t.Fatal("non-numeric counters parsed")
	}
}
