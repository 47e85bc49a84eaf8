package runtime

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Exit records how a container ended; the supervisor writes it as
// exit.json once the container is gone and its runc state deleted.
type Exit struct {
	ExitCode   int       `json:"exitCode"`         // 128+signal when killed by a signal
	Signal     int       `json:"signal,omitempty"` // the killing signal, if any
	OOMKilled  bool      `json:"oomKilled"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt"`
	// Error is set when the container could not be started at all.
	Error string `json:"error,omitempty"`
}

// initRecord is init.json: the container's init process on the host.
type initRecord struct {
	procRecord
	StartedAt time.Time `json:"startedAt"`
}

// shimReport is what the supervisor tells StartShim over the status pipe.
type shimReport struct {
	Pid   int    `json:"pid,omitempty"`
	Error string `json:"error,omitempty"`
}

// statusFDEnv names the inherited descriptor of the status pipe; without
// it (a shim started by hand) nothing is reported.
const statusFDEnv = "BERTH_SHIM_STATUS_FD"

// logDrainTimeout bounds how long the supervisor waits for the output pipes
// to close after init exits; all writers die with the pid namespace, so
// this only matters if something outside the container inherited them.
const logDrainTimeout = 5 * time.Second

// ShimMain is the supervisor's entry point ("berth shim ..."); it returns
// the process exit code. Usage:
//
//	shim --bundle DIR --id ID --log FILE [--log-max-size N] [--log-max-files K] [--runtime runc] [--root DIR]
func ShimMain(args []string) int {
	fs := flag.NewFlagSet("shim", flag.ContinueOnError)
	var o shimConfig
	fs.StringVar(&o.bundle, "bundle", "", "OCI bundle directory (holds config.json)")
	fs.StringVar(&o.id, "id", "", "container id")
	fs.StringVar(&o.logPath, "log", "", "JSON-lines log file for the container's output")
	fs.Int64Var(&o.logMaxSize, "log-max-size", 0, "rotate the log at this many bytes (0: never)")
	fs.IntVar(&o.logMaxFiles, "log-max-files", 1, "log files kept, including the current one")
	fs.StringVar(&o.runc.Binary, "runtime", "runc", "OCI runtime binary")
	fs.StringVar(&o.runc.Root, "root", DefaultRuncRoot, "runtime state directory")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.bundle == "" || o.id == "" || o.logPath == "" {
		fmt.Fprintln(os.Stderr, "shim: --bundle, --id and --log are required")
		return 2
	}
	if err := ValidateID(o.id); err != nil {
		fmt.Fprintln(os.Stderr, "shim:", err)
		return 2
	}
	o.report = openStatusPipe()
	if err := runShim(o); err != nil {
		return 1
	}
	return 0
}

type shimConfig struct {
	bundle, id, logPath string
	logMaxSize          int64
	logMaxFiles         int
	runc                Runc
	report              *os.File
}

func openStatusPipe() *os.File {
	fd, err := strconv.Atoi(os.Getenv(statusFDEnv))
	if err != nil || fd < 3 {
		return nil
	}
	os.Unsetenv(statusFDEnv)
	unix.CloseOnExec(fd) // runc and the container must not hold it open
	return os.NewFile(uintptr(fd), "shim-status")
}

// sendReport tells StartShim the outcome once; closing the pipe is what
// unblocks it even if the write fails.
func (o *shimConfig) sendReport(r shimReport) {
	if o.report == nil {
		return
	}
	b, _ := json.Marshal(r)
	o.report.Write(append(b, '\n'))
	o.report.Close()
	o.report = nil
}

func runShim(o shimConfig) error {
	// Diagnostics go to shim.log: the supervisor's stdio is /dev/null.
	lf, err := os.OpenFile(filepath.Join(o.bundle, ShimLogFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		o.sendReport(shimReport{Error: "shim log: " + err.Error()})
		return err
	}
	defer lf.Close()
	logger := log.New(lf, fmt.Sprintf("shim[%d] %s: ", os.Getpid(), o.id), log.LstdFlags|log.Lmicroseconds)

	fail := func(err error) error {
		logger.Print(err)
		o.sendReport(shimReport{Error: err.Error()})
		return err
	}
	// The shim has its own session, but a stray SIGHUP (or SIGPIPE) must
	// not take it down while it holds the container.
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)

	self, err := recordOf(os.Getpid())
	if err != nil {
		return fail(fmt.Errorf("read own start time: %w", err))
	}
	// Not fsynced (here and init.json): both describe live processes only,
	// which a power loss ends too, and Adopt checks them against the
	// process table.
	if err := writeJSONNoSync(filepath.Join(o.bundle, ShimFile), self); err != nil {
		return fail(fmt.Errorf("record shim pid: %w", err))
	}
	// As a subreaper the shim inherits the container's init when
	// runc exits, so it can wait4 it for the exit status.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fail(fmt.Errorf("become subreaper: %w", err))
	}
	logs, err := OpenLogWriter(o.logPath, o.logMaxSize, o.logMaxFiles)
	if err != nil {
		return fail(err)
	}
	defer logs.Close()

	os.Remove(filepath.Join(o.bundle, RuncLogFile)) // errors are looked up in it
	initPid, copiers, err := o.run(logger, logs)
	if err != nil {
		o.cleanup(logger)
		if copiers != nil {
			copiers.Wait()
		}
		o.recordExit(logger, Exit{ExitCode: -1, FinishedAt: time.Now().UTC(), Error: err.Error()})
		return fail(err)
	}
	startedAt := time.Now().UTC()
	rec, err := recordOf(initPid)
	if err == nil {
		err = writeJSONNoSync(filepath.Join(o.bundle, InitFile), initRecord{procRecord: rec, StartedAt: startedAt})
	}
	if err != nil {
		// init already exited (a very short-lived command): its zombie is
		// reaped below, so only the adoption record is missing.
		logger.Printf("record init pid %d: %v", initPid, err)
	}
	logger.Printf("container started, init pid %d", initPid)
	o.sendReport(shimReport{Pid: initPid})

	// The spec (tens of KiB with the seccomp profile) is parsed only now,
	// off the start path: the cgroup path is needed once init has exited.
	cgroupsPath := ""
	if spec, err := ReadSpec(o.bundle); err != nil {
		logger.Printf("read spec for the cgroup path: %v", err)
	} else if spec.Linux != nil {
		cgroupsPath = spec.Linux.CgroupsPath
	}

	ws := reap(initPid)
	exit := Exit{StartedAt: startedAt, FinishedAt: time.Now().UTC()}
	switch {
	case ws.Exited():
		exit.ExitCode = ws.ExitStatus()
	case ws.Signaled():
		exit.Signal = int(ws.Signal())
		exit.ExitCode = 128 + exit.Signal
	}

	drained := make(chan struct{})
	go func() { copiers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(logDrainTimeout):
		logger.Print("output pipes still open after init exited; not waiting further")
	}

	// The OOM counter lives in the cgroup, which runc delete removes.
	if cgroupsPath != "" {
		if n, err := oomKills(cgroupsPath); err != nil {
			logger.Printf("read oom counter: %v", err)
		} else {
			exit.OOMKilled = n > 0
		}
	}
	o.cleanup(logger)
	o.recordExit(logger, exit)
	logger.Printf("container exited: code %d signal %d oom %v", exit.ExitCode, exit.Signal, exit.OOMKilled)
	return nil
}

// run starts the container with one "runc run --detach" (create and start
// in one runc process instead of two: a whole runc start-up less per
// container), with pipes as the container's stdout/stderr (a detached runc
// hands its own stdio to the container), and returns init's pid. runc
// exits once the process runs; init is then re-parented to the shim, the
// subreaper, which waits for it. If the start fails after the create,
// runc run destroys the container itself (and cleanup deletes it again).
func (o *shimConfig) run(logger *log.Logger, logs *LogWriter) (int, *sync.WaitGroup, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return 0, nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return 0, nil, err
	}
	var copiers sync.WaitGroup
	for _, p := range []struct {
		stream string
		r      *os.File
	}{{"stdout", outR}, {"stderr", errR}} {
		copiers.Add(1)
		go func() {
			defer copiers.Done()
			defer p.r.Close()
			if err := logs.Copy(p.stream, p.r); err != nil {
				logger.Printf("copy %s: %v", p.stream, err)
				io.Copy(io.Discard, p.r) // keep draining so the container never blocks
			}
		}()
	}

	pidFile := filepath.Join(o.bundle, "init.pid")
	os.Remove(pidFile)
	runcLog := filepath.Join(o.bundle, RuncLogFile)
	cmd := o.runc.command(bgContext(), "--log", runcLog, "--log-format", "json",
		"run", "--detach", "--bundle", o.bundle, "--pid-file", pidFile, o.id)
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Run()
	// Only the container holds the write ends now; EOF follows its death.
	outW.Close()
	errW.Close()
	if err != nil {
		return 0, &copiers, fmt.Errorf("runc run: %s", runcError(runcLog, err))
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, &copiers, fmt.Errorf("runc run: read pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, &copiers, fmt.Errorf("runc run: bad pid file %q", b)
	}
	return pid, &copiers, nil
}

func (o *shimConfig) cleanup(logger *log.Logger) {
	if err := o.runc.Delete(o.id); err != nil {
		logger.Printf("delete: %v", err)
	}
	os.Remove(filepath.Join(o.bundle, "init.pid"))
}

func (o *shimConfig) recordExit(logger *log.Logger, e Exit) {
	if err := writeJSONAtomic(filepath.Join(o.bundle, ExitFile), e); err != nil {
		logger.Printf("record exit: %v", err)
	}
}

// reap waits for pid, also reaping any other orphan the subreaper inherits.
func reap(pid int) unix.WaitStatus {
	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			// ECHILD: init is not our child after all (it was never
			// reparented); report an unknown status rather than hang.
			return unix.WaitStatus(255 << 8)
		}
		if wpid == pid {
			return ws
		}
	}
}

// runcError extracts the last error runc logged (its JSON log), falling
// back to the exec error ("" if err is nil).
func runcError(logFile string, err error) string {
	fallback := ""
	if err != nil {
		fallback = err.Error()
	}
	b, rerr := os.ReadFile(logFile)
	if rerr == nil {
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		for i := len(lines) - 1; i >= 0; i-- {
			var e struct {
				Level string `json:"level"`
				Msg   string `json:"msg"`
			}
			if json.Unmarshal([]byte(lines[i]), &e) == nil && (e.Level == "error" || e.Level == "fatal") && e.Msg != "" {
				return e.Msg
			}
		}
	}
	return fallback
}
