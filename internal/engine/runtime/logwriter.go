package runtime

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// LogEntry is one line of a container's JSON-lines log (Docker's json-file
// format).
type LogEntry struct {
	Time   time.Time `json:"time"`
	Stream string    `json:"stream"`
	Log    string    `json:"log"`
}

// maxLogLine bounds one entry: longer lines are split, like Docker's 16 KiB
// partial messages, so a process printing without newlines cannot make the
// supervisor buffer unbounded memory.
const maxLogLine = 16 << 10

// LogWriter appends JSON-lines entries to a file, rotating it when the next
// entry would exceed MaxSize: FILE -> FILE.1 -> ... -> FILE.(MaxFiles-1),
// the oldest dropped. It is safe for concurrent use by the stdout and
// stderr copiers.
type LogWriter struct {
	path     string
	maxSize  int64 // <= 0: never rotate
	maxFiles int   // total files kept, including the current one
	now      func() time.Time

	mu   sync.Mutex
	f    *os.File
	size int64
}

// OpenLogWriter opens (appending to) the log at path.
func OpenLogWriter(path string, maxSize int64, maxFiles int) (*LogWriter, error) {
	if maxFiles < 1 {
		maxFiles = 1
	}
	w := &LogWriter{path: path, maxSize: maxSize, maxFiles: maxFiles, now: time.Now}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *LogWriter) open() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open log: %w", err)
	}
	w.f, w.size = f, fi.Size()
	return nil
}

// Write records one entry for stream.
func (w *LogWriter) Write(stream string, line []byte) error {
	b, err := json.Marshal(LogEntry{Time: w.now().UTC(), Stream: stream, Log: string(line)})
	if err != nil {
		return err
	}
	b = append(b, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return os.ErrClosed
	}
	if w.maxSize > 0 && w.size > 0 && w.size+int64(len(b)) > w.maxSize {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(b)
	w.size += int64(n)
	return err
}

func (w *LogWriter) rotate() error {
	if err := w.f.Close(); err != nil {
		return err
	}
	w.f = nil
	if w.maxFiles == 1 {
		if err := os.Truncate(w.path, 0); err != nil {
			return fmt.Errorf("rotate log: %w", err)
		}
		return w.open()
	}
	for i := w.maxFiles - 1; i >= 1; i-- {
		src := w.path
		if i > 1 {
			src = fmt.Sprintf("%s.%d", w.path, i-1)
		}
		if err := os.Rename(src, fmt.Sprintf("%s.%d", w.path, i)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("rotate log: %w", err)
		}
	}
	return w.open()
}

// Copy reads r until EOF and records it line by line as stream.
func (w *LogWriter) Copy(stream string, r io.Reader) error {
	br := bufio.NewReaderSize(r, maxLogLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if werr := w.Write(stream, line); werr != nil {
				return werr
			}
		}
		switch err {
		case nil, bufio.ErrBufferFull:
		case io.EOF:
			return nil
		default:
			return err
		}
	}
}

// Close flushes the log to disk and closes it.
func (w *LogWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	return err
}
