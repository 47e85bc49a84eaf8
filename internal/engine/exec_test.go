package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/engine/api"
	"github.com/berth-dev/berth/internal/model"
)

// serveAPI starts the engine's API on a real unix socket and returns a
// client of it.
func serveAPI(t *testing.T, e *Engine) *api.Client {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "berth.sock")
	l, err := api.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: testHandler(e)}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return api.NewClient(sock)
}

func upDemo(t *testing.T, e *Engine) {
	t.Helper()
	spec := model.StackSpec{Name: "demo", Services: []model.ServiceSpec{{Name: "web", Image: "x", Replicas: 2}}}
	if err := e.Up(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
}

func TestExecRoundTripsOutputInputAndExitCode(t *testing.T) {
	rt, nets := newFakeRuntime(), newFakeNets()
	e := newTestEngine(t, t.TempDir(), rt, nets)
	defer e.Close()
	upDemo(t, e)
	c := serveAPI(t, e)
	var web2 string
	for _, cn := range e.Containers("demo") {
		if cn.Name == "demo-web-2" {
			web2 = cn.ID
		}
	}
	// The fake process echoes its input upper-cased, complains on stderr
	// and exits with the code its arguments name.
	rt.execIO = func(_ context.Context, id string, o ExecIO) (int, error) {
		if id != web2 {
			return -1, fmt.Errorf("exec in %s, want demo-web-2 (%s)", id, web2)
		}
		in, err := io.ReadAll(o.Stdin)
		if err != nil {
			return -1, err
		}
		fmt.Fprintf(o.Stdout, "%s %s", strings.Join(o.Args, " "), bytes.ToUpper(in))
		fmt.Fprintf(o.Stderr, "user=%s env=%v", o.User, o.Env)
		var code int
		fmt.Sscan(o.Args[len(o.Args)-1], &code)
		return code, nil
	}
	var stdout, stderr bytes.Buffer
	req := api.ExecRequest{Args: []string{"sh", "-c", "exit", "7"}, Env: []string{"A=1"}, User: "1000", Stdin: true}
	code, err := c.Exec(context.Background(), "demo-web-2", req, strings.NewReader("hello"), &stdout, &stderr, nil)
	if err != nil || code != 7 {
		t.Fatalf("exec: code %d err %v", code, err)
	}
	if stdout.String() != "sh -c exit 7 HELLO" || stderr.String() != "user=1000 env=[A=1]" {
		t.Fatalf("stdout %q stderr %q", stdout.String(), stderr.String())
	}

	// A runtime failure arrives as an error, not as an exit code.
	rt.execIO = func(context.Context, string, ExecIO) (int, error) {
		return -1, errors.New(`exec in x: user "bob" must be numeric uid[:gid]`)
	}
	_, err = c.Exec(context.Background(), "demo-web-1", api.ExecRequest{Args: []string{"true"}}, nil, nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "must be numeric") {
		t.Fatalf("runtime error: %v", err)
	}

	// Bad requests are refused before the upgrade, with a status.
	var ae *api.Error
	_, err = c.Exec(context.Background(), "demo-db-1", api.ExecRequest{Args: []string{"true"}}, nil, nil, nil, nil)
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || !strings.Contains(ae.Message, "demo-db-1") {
		t.Fatalf("unknown container: %v", err)
	}
	_, err = c.Exec(context.Background(), "demo-web-1", api.ExecRequest{}, nil, nil, nil, nil)
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Fatalf("no command: %v", err)
	}
}

func TestExecTTYResizeAndClientGoingAway(t *testing.T) {
	rt, nets := newFakeRuntime(), newFakeNets()
	e := newTestEngine(t, t.TempDir(), rt, nets)
	defer e.Close()
	upDemo(t, e)
	c := serveAPI(t, e)

	// Sizes sent while the process runs reach it.
	rt.execIO = func(_ context.Context, _ string, o ExecIO) (int, error) {
		fmt.Fprintf(o.Stdout, "tty=%v %dx%d;", o.Tty, o.Height, o.Width)
		s := <-o.Resize
		fmt.Fprintf(o.Stdout, "resized %dx%d", s[0], s[1])
		return 0, nil
	}
	resize := make(chan [2]uint16, 1)
	resize <- [2]uint16{50, 132}
	var out bytes.Buffer
	code, err := c.Exec(context.Background(), "demo-web-1", api.ExecRequest{Args: []string{"sh"}, Tty: true, Height: 24, Width: 80}, nil, &out, nil, resize)
	if err != nil || code != 0 || out.String() != "tty=true 24x80;resized 50x132" {
		t.Fatalf("tty exec: %d %v %q", code, err, out.String())
	}

	// A client that goes away kills its process: the exec's context ends.
	started, killed := make(chan struct{}), make(chan struct{})
	rt.execIO = func(ctx context.Context, _ string, o ExecIO) (int, error) {
		close(started)
		<-ctx.Done()
		close(killed)
		return 137, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Exec(ctx, "demo-web-1", api.ExecRequest{Args: []string{"sleep", "1000"}}, nil, nil, nil, nil)
		errc <- err
	}()
	<-started
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled exec: %v", err)
	}
	select {
	case <-killed:
	case <-time.After(10 * time.Second):
		t.Fatal("the process outlived its client")
	}
}
