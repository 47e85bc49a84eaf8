package main

import "github.com/berth-dev/berth/internal/errtext"

// exitStatus ends berth with this exit code and no message.
type exitStatus = errtext.ExitStatus

// describeError is what berth prints for err (after "berth: "), and its
// exit code: see errtext.Describe.
var describeError = errtext.Describe
