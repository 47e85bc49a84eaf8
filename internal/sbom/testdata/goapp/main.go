// A Go program with a module dependency: the test image's binary, so the
// scanner's module list is checked against real build info.
package main

import (
	"fmt"

	"github.com/google/uuid"
)

func main() { fmt.Println(uuid.NewSHA1(uuid.NameSpaceURL, []byte("berth"))) }
