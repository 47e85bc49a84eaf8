//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// markerWatcher sees containers' marker files appear: the kernel reports
// each file created in a watched directory (inotify), and a goroutine
// blocked on the inotify descriptor stamps the event the moment it is read,
// so the time does not depend on polling or on when the driver looks.
type markerWatcher struct {
	fd     int // kept: os.File.Fd would switch the descriptor to blocking mode
	f      *os.File
	mu     sync.Mutex
	dirs   map[int32]string
	events chan markerEvent
	done   chan struct{}
}

type markerEvent struct {
	path string
	at   time.Time
}

func newMarkerWatcher() (*markerWatcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	// A non-blocking descriptor goes to Go's poller: Read parks the
	// goroutine and Close wakes it.
	w := &markerWatcher{fd: fd, f: os.NewFile(uintptr(fd), "inotify"), dirs: map[int32]string{},
		events: make(chan markerEvent, 1024), done: make(chan struct{})}
	go w.read()
	return w, nil
}

// watch reports files created in dir (which it creates).
func (w *markerWatcher) watch(dir string) error {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	wd, err := unix.InotifyAddWatch(w.fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO)
	if err != nil {
		return fmt.Errorf("inotify watch %s: %w", dir, err)
	}
	w.mu.Lock()
	w.dirs[int32(wd)] = dir
	w.mu.Unlock()
	return nil
}

func (w *markerWatcher) read() {
	defer close(w.done)
	buf := make([]byte, 64<<10)
	for {
		n, err := w.f.Read(buf)
		at := time.Now()
		if err != nil {
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			var ev unix.InotifyEvent
			_ = binary.Read(bytes.NewReader(buf[off:off+unix.SizeofInotifyEvent]), binary.NativeEndian, &ev)
			nameStart := off + unix.SizeofInotifyEvent
			nameEnd := min(nameStart+int(ev.Len), n)
			name := string(bytes.TrimRight(buf[nameStart:nameEnd], "\x00"))
			off = nameEnd
			w.mu.Lock()
			dir, ok := w.dirs[ev.Wd]
			w.mu.Unlock()
			if ok && name != "" {
				select {
				case w.events <- markerEvent{path: filepath.Join(dir, name), at: at}:
				default: // nobody waits for this many; the waiter would time out
				}
			}
		}
	}
}

// drain forgets events seen so far (markers of earlier runs).
func (w *markerWatcher) drain() {
	for {
		select {
		case <-w.events:
		default:
			return
		}
	}
}

// wait returns when each of paths has been created, with the time the last
// one appeared, or fails after timeout.
func (w *markerWatcher) wait(timeout time.Duration, paths ...string) (time.Time, error) {
	want := map[string]bool{}
	for _, p := range paths {
		want[p] = true
	}
	var last time.Time
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for len(want) > 0 {
		select {
		case ev := <-w.events:
			if want[ev.path] {
				delete(want, ev.path)
				last = ev.at
			}
		case <-timer.C:
			missing := make([]string, 0, len(want))
			for p := range want {
				missing = append(missing, p)
			}
			return time.Time{}, fmt.Errorf("marker(s) %v not created within %s: the container's process did not run", missing, timeout)
		case <-w.done:
			return time.Time{}, errors.New("inotify watcher stopped")
		}
	}
	return last, nil
}

func (w *markerWatcher) close() {
	w.f.Close()
	<-w.done
}
