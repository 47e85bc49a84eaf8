package proxyd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"
)

// Listener handover. The proxy's listening sockets (and the DNS zones'
// sockets, named by dnsHandoverName) must outlive the proxy process: the kernel keeps a listening socket open — and keeps completing
// handshakes into its backlog — for as long as any process holds a
// descriptor of it. So the daemon holds a duplicate of every one (Holder),
// fetched over the API socket with SCM_RIGHTS (GET /listeners), and hands
// them to the proxy process it starts (inherited descriptors, named in
// envListenFDs). A proxy killed with -9 therefore refuses nobody: the
// connections that arrive meanwhile wait in the backlog and the new
// process accepts them. A daemon that dies closes its copies, not the
// proxy's; the next daemon fetches them again.

// maxFDsPerMsg keeps each SCM_RIGHTS message under the kernel's limit of
// 253 descriptors.
const maxFDsPerMsg = 200

// handoverMsg is the payload of one SCM_RIGHTS message: the configured
// addresses of the descriptors it carries, in order. The last message has
// Done set.
type handoverMsg struct {
	Addrs []string `json:"addrs"`
	Done  bool     `json:"done,omitempty"`
}

// listenerFiles serves GET /listeners: the connection is taken over and
// gets the descriptors, then is closed.
func (s *Server) listenerFiles(w http.ResponseWriter, _ *http.Request) {
	addrs, files, err := s.o.Proxy.ListenerFiles()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	if s.o.DNS != nil {
		names, dnsFiles, err := s.o.DNS.files()
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		addrs, files = append(addrs, names...), append(files, dnsFiles...)
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	hj, ok := w.(http.Hijacker)
	if !ok {
		writeError(w, http.StatusInternalServerError, errors.New("listeners: connection cannot be taken over"))
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		s.log.Warn("handing over listeners", "err", err)
		return
	}
	defer conn.Close()
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return // only unix sockets carry descriptors
	}
	uc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := sendFiles(uc, addrs, files); err != nil {
		s.log.Warn("handing over listeners", "err", err)
	}
}

func sendFiles(uc *net.UnixConn, addrs []string, files []*os.File) error {
	for i := 0; ; i += maxFDsPerMsg {
		end := min(i+maxFDsPerMsg, len(addrs))
		msg := handoverMsg{Addrs: addrs[i:end], Done: end == len(addrs)}
		b, err := json.Marshal(msg)
		if err != nil {
			return err
		}
		fds := make([]int, 0, end-i)
		for _, f := range files[i:end] {
			fds = append(fds, int(f.Fd()))
		}
		var oob []byte
		if len(fds) > 0 {
			oob = syscall.UnixRights(fds...)
		}
		if _, _, err := uc.WriteMsgUnix(append(b, '\n'), oob, nil); err != nil {
			return err
		}
		if msg.Done {
			return nil
		}
	}
}

// ListenerFiles fetches duplicates of the proxy's listening sockets, by
// configured address. The caller owns (and closes) the files.
func (c *Client) ListenerFiles(ctx context.Context) (addrs []string, files []*os.File, err error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.socket)
	if err != nil {
		if notRunning(err) {
			return nil, nil, fmt.Errorf("%w on %s", ErrNotRunning, c.socket)
		}
		return nil, nil, fmt.Errorf("berth proxy on %s: %w", c.socket, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	uc := conn.(*net.UnixConn)
	if _, err := uc.Write([]byte("GET /listeners HTTP/1.1\r\nHost: berth-proxy\r\n\r\n")); err != nil {
		return nil, nil, fmt.Errorf("berth proxy on %s: GET /listeners: %w", c.socket, err)
	}
	defer func() {
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			files, addrs = nil, nil
		}
	}()
	var pending []byte
	buf := make([]byte, 64<<10)
	oob := make([]byte, syscall.CmsgSpace(4*maxFDsPerMsg))
	for {
		n, oobn, flags, _, rerr := uc.ReadMsgUnix(buf, oob)
		if oobn > 0 {
			got, perr := parseRights(oob[:oobn])
			for _, fd := range got {
				files = append(files, os.NewFile(uintptr(fd), "socket"))
			}
			if perr != nil {
				return addrs, files, fmt.Errorf("berth proxy on %s: listeners: %w", c.socket, perr)
			}
		}
		if flags&syscall.MSG_CTRUNC != 0 {
			return addrs, files, fmt.Errorf("berth proxy on %s: listeners: descriptors truncated", c.socket)
		}
		pending = append(pending, buf[:n]...)
		if bytes.HasPrefix(pending, []byte("HTTP/")) {
			// An answer, not descriptors: a proxy of an older berth (404)
			// or an error.
			line, _, _ := bufio.NewReader(bytes.NewReader(pending)).ReadLine()
			return addrs, files, fmt.Errorf("berth proxy on %s does not hand over its listeners: %s", c.socket, line)
		}
		for {
			i := bytes.IndexByte(pending, '\n')
			if i < 0 {
				break
			}
			var msg handoverMsg
			if err := json.Unmarshal(pending[:i], &msg); err != nil {
				return addrs, files, fmt.Errorf("berth proxy on %s: listeners: %w", c.socket, err)
			}
			pending = pending[i+1:]
			addrs = append(addrs, msg.Addrs...)
			if msg.Done {
				if len(addrs) != len(files) {
					return addrs, files, fmt.Errorf("berth proxy on %s: listeners: %d addresses but %d descriptors", c.socket, len(addrs), len(files))
				}
				return addrs, files, nil
			}
		}
		if rerr != nil {
			return addrs, files, fmt.Errorf("berth proxy on %s: listeners: %w", c.socket, rerr)
		}
	}
}

func parseRights(oob []byte) ([]int, error) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		got, err := syscall.ParseUnixRights(&m)
		if err != nil {
			return fds, err
		}
		fds = append(fds, got...)
	}
	return fds, nil
}
