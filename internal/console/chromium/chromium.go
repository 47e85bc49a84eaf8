// Package chromium starts Debian's headless chromium for the console's
// browser tests (github.com/chromedp/chromedp drives it) and saves their
// screenshots. It is for tests only: the console itself needs no browser.
package chromium

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path finds the chromium binary: $BERTH_CHROMIUM, else chromium on PATH.
func Path() (string, error) {
	if p := os.Getenv("BERTH_CHROMIUM"); p != "" {
		return p, nil
	}
	return exec.LookPath("chromium")
}

// New starts a headless chromium with a fresh profile for t and returns a
// context of one tab, which ends after timeout or with the test. Without
// chromium the test is skipped, unless $BERTH_REQUIRE_CHROMIUM is set (CI
// sets it, so a missing browser fails instead of passing silently).
func New(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	path, err := Path()
	if err != nil {
		if os.Getenv("BERTH_REQUIRE_CHROMIUM") != "" {
			t.Fatalf("chromium: %v (apt-get install chromium, or bash scripts/deps.sh)", err)
		}
		t.Skipf("no chromium (apt-get install chromium): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.DisableGPU,
		// Tests run as root; chromium refuses its sandbox then.
		chromedp.NoSandbox,
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	tctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	if err := chromedp.Do(tctx); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	return tctx
}

// Screenshot saves the whole page as dir/name.png, and as
// $BERTH_CONSOLE_SCREENSHOTS/name.png too when that is set (how the set
// in docs/console/ is made).
func Screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	// Right after a navigation the page may have no layout yet ("Cannot
	// take screenshot with 0 width"): retry until it has, with a deadline.
	var png []byte
	deadline := time.Now().Add(15 * time.Second)
	for {
		var err error
		png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err == nil {
			break
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	dirs := []string{dir}
	if extra := os.Getenv("BERTH_CONSOLE_SCREENSHOTS"); extra != "" {
		dirs = append(dirs, extra)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshot %s", filepath.Join(dir, name+".png"))
}

// Wait evaluates the JavaScript expression js every 50ms until it is
// true, through page loads (an evaluation cut by a navigation is retried),
// and fails after timeout with the last error.
func Wait(ctx context.Context, timeout time.Duration, js string) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return nil
		}
		last = err
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			if last == nil {
				last = errors.New("still false")
			}
			return fmt.Errorf("after %s: %s: %w", timeout, js, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
