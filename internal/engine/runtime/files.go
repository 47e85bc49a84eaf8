package runtime

import (
	"github.com/berth-dev/berth/internal/atomicfile"

	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Names of the files in a container (bundle) directory.
const (
	ConfigFile  = "config.json"
	ShimFile    = "shim.json"
	InitFile    = "init.json"
	ExitFile    = "exit.json"
	ShimLogFile = "shim.log"
	RuncLogFile = "runc.log"
)

// WriteSpec stores s as dir/config.json, atomically but not fsynced: the
// spec is regenerated for every start, so it only ever describes a
// container that runs (or is about to), which a power loss ends. Compact
// JSON: the seccomp profile makes it long, and only runc reads it.
func WriteSpec(dir string, s *specs.Spec) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode runtime spec: %w", err)
	}
	return atomicfile.WriteNoSync(filepath.Join(dir, ConfigFile), b, 0o600)
}

// ReadSpec loads dir/config.json.
func ReadSpec(dir string) (*specs.Spec, error) {
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, err
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	return &s, nil
}

func writeJSONAtomic(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return atomicfile.Write(name, append(b, '\n'), 0o600)
}

// writeJSONNoSync is writeJSONAtomic for records of live processes only
// (atomicfile.WriteNoSync).
func writeJSONNoSync(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return atomicfile.WriteNoSync(name, append(b, '\n'), 0o600)
}

func readJSON(name string, v any) error {
	b, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// procRecord identifies a process across pid reuse: a pid is only "the
// same process" if its start time (in clock ticks since boot) matches too.
type procRecord struct {
	Pid       int    `json:"pid"`
	StartTime uint64 `json:"startTime"`
}

// procStartTime returns field 22 of /proc/<pid>/stat.
func procStartTime(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may contain spaces
	// or ')' itself, so fields are counted after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

func recordOf(pid int) (procRecord, error) {
	st, err := procStartTime(pid)
	if err != nil {
		return procRecord{}, err
	}
	return procRecord{Pid: pid, StartTime: st}, nil
}

// alive reports whether the recorded process still exists and is not a
// zombie (a zombie has exited; only its parent has yet to reap it).
func (r procRecord) alive() bool {
	if r.Pid <= 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(r.Pid) + "/stat")
	if err != nil {
		return false
	}
	st, err := procStartTime(r.Pid)
	if err != nil || st != r.StartTime {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		if s[i+2] == 'Z' || s[i+2] == 'X' {
			return false
		}
	}
	return true
}
