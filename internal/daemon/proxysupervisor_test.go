package daemon

import (
	"os"
	"testing"
)

func TestSameExecutable(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if same, err := sameExecutable(os.Getpid(), self); err != nil || !same {
		t.Errorf("this process and its own binary: %v %v", same, err)
	}
	if same, err := sameExecutable(os.Getpid(), "/bin/sh"); err != nil || same {
		t.Errorf("this process and /bin/sh: %v %v", same, err)
	}
	if _, err := sameExecutable(os.Getpid(), "/nonexistent"); err == nil {
		t.Error("a missing binary: no error")
	}
}
