package proxy

import (
	"crypto/tls"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The event loops serve the common plain-HTTP request the way nginx's
// workers do: one thread per CPU waits in epoll for every connection it
// owns and reads, forwards and writes with non-blocking system calls,
// with no goroutine switch, netpoller wake-up or speculative read per
// request. Profiled behind wrk, the goroutine-per-connection fast path
// spent 7–8 system calls and ~0.9 thread switches per request (a read
// that finds nothing before every wait, scheduler wake-ups between
// threads); the loops spend ~4.5 and a fraction of a switch, which on a
// virtual machine where every system call traps is most of the cost.
//
// A loop takes only what it can finish on its own: a bodiless GET, HEAD
// or OPTIONS that fast path rules accept (h1parse.go), for a route with a
// Ready backend at an IP address, answered with a Content-Length (or no)
// body. Anything else — a body to upload, a 404, no backend ready, a dial
// or an answer that failed (retried), a chunked or close-delimited
// answer — hands the connection, with the bytes it has buffered, to the
// goroutine fast path (h1server.go), which serves it from then on with
// listener.forward's whole policy. So the loops add speed, not behaviour.

// loopTick is how often a loop checks its deadlines: response header and
// write timeouts, idle and header timeouts, a closing listener.
const loopTick = 50 * time.Millisecond

// eloops are the proxy's event loops, one per CPU (at most one per P).
type eloops struct {
	p     *Proxy
	loops []*eloop
	next  atomic.Uint32
	wg    sync.WaitGroup
}

// startLoops starts n event loops; nil (the goroutine fast path serves
// everything) when the kernel refuses epoll or eventfd.
func startLoops(p *Proxy, n int) *eloops {
	ls := &eloops{p: p}
	for range n {
		lp, err := newLoop(ls)
		if err != nil {
			p.log.Warn("proxy: no event loops, serving plain HTTP with a goroutine per connection", "err", err)
			for _, lp := range ls.loops {
				lp.closeFDs()
			}
			return nil
		}
		ls.loops = append(ls.loops, lp)
	}
	for _, lp := range ls.loops {
		ls.wg.Add(1)
		go func() { defer ls.wg.Done(); lp.run() }()
	}
	return ls
}

// take moves a plain-HTTP client connection into a loop; false leaves c
// to the caller (the goroutine fast path).
func (ls *eloops) take(l *listener, c net.Conn) bool {
	return ls.adopt(l, c, &lclient{l: l})
}

// takeTLS moves an HTTP/1.1 TLS connection, its handshake done, into a
// loop: conn reads and writes through bc, which the loop fills and drains.
func (ls *eloops) takeTLS(l *listener, raw net.Conn, conn *tls.Conn, bc *bufConn) bool {
	return ls.adopt(l, raw, &lclient{l: l, tls: conn, tb: bc})
}

// adopt gives cl a duplicate of c's socket and closes c.
func (ls *eloops) adopt(l *listener, c net.Conn, cl *lclient) bool {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return false
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	fd := -1
	raw.Control(func(s uintptr) {
		if nfd, err := unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0); err == nil {
			fd = nfd
		}
	})
	if fd < 0 {
		return false
	}
	if host, _, err := net.SplitHostPort(c.RemoteAddr().String()); err == nil {
		cl.ip = host
	}
	if cl.tb != nil {
		cl.tb.Conn = nil // the loop's from now on
	}
	// The duplicate keeps the socket (non-blocking, TCP_NODELAY, as Go
	// set it up); the original leaves Go's netpoller.
	c.Close()
	cl.fd = fd
	lp := ls.loops[ls.next.Add(1)%uint32(len(ls.loops))]
	l.loopConns.Add(1)
	lp.post(func() { lp.addClient(cl) })
	return true
}

// cut closes the loops' connections to b (its drain timeout passed).
func (ls *eloops) cut(b *backend) {
	for _, lp := range ls.loops {
		lp.post(func() { lp.cutBackend(b) })
	}
}

// closeListener closes the loops' connections of l at once.
func (ls *eloops) closeListener(l *listener) {
	for _, lp := range ls.loops {
		lp.post(func() { lp.dropListener(l) })
	}
}

// stop ends the loops, closing every connection they hold.
func (ls *eloops) stop() {
	for _, lp := range ls.loops {
		lp.post(func() { lp.stopping = true })
	}
	ls.wg.Wait()
}

// loopFD is what a loop knows an epoll registration by.
type loopFD interface {
	event(ev uint32)
}

// eloop is one event loop. Everything in it but tasks is only touched by
// its own goroutine, locked to its thread.
type eloop struct {
	ls   *eloops
	ep   int
	wake int // eventfd: tasks are waiting

	mu    sync.Mutex
	tasks []func()
	woken atomic.Bool

	nextID  int32
	fds     map[int32]loopFD
	clients map[*lclient]struct{}
	idle    map[*backend][]*lbconn
	now     int64 // unix nanos, read once per wake-up
	scanned int64
	// stopping ends run after the current batch.
	stopping bool
	out      outBuf // scratch for heads
}

func newLoop(ls *eloops) (*eloop, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(ep)
		return nil, err
	}
	lp := &eloop{ls: ls, ep: ep, wake: wake, fds: map[int32]loopFD{}, clients: map[*lclient]struct{}{}, idle: map[*backend][]*lbconn{}}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: -1}); err != nil {
		lp.closeFDs()
		return nil, err
	}
	return lp, nil
}

func (lp *eloop) closeFDs() {
	unix.Close(lp.wake)
	unix.Close(lp.ep)
}

// post runs f on the loop's goroutine.
func (lp *eloop) post(f func()) {
	lp.mu.Lock()
	lp.tasks = append(lp.tasks, f)
	lp.mu.Unlock()
	if lp.woken.CompareAndSwap(false, true) {
		var one = [8]byte{1}
		unix.Write(lp.wake, one[:])
	}
}

func (lp *eloop) runTasks() {
	var buf [8]byte
	unix.Read(lp.wake, buf[:])
	lp.woken.Store(false)
	lp.mu.Lock()
	tasks := lp.tasks
	lp.tasks = nil
	lp.mu.Unlock()
	for _, f := range tasks {
		f()
	}
}

// register adds fd to the epoll set, edge-triggered, for h; it returns
// the registration's id (what events carry: a closed fd's number can come
// back for a new connection within one batch of events).
func (lp *eloop) register(fd int, h loopFD) (int32, error) {
	lp.nextID++
	if lp.nextID < 0 {
		lp.nextID = 0
	}
	id := lp.nextID
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: id}
	if err := unix.EpollCtl(lp.ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return 0, err
	}
	lp.fds[id] = h
	return id, nil
}

// unregister forgets id; closing the fd takes it out of the epoll set.
func (lp *eloop) unregister(id int32) { delete(lp.fds, id) }

func (lp *eloop) run() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	events := make([]unix.EpollEvent, 256)
	for !lp.stopping {
		// Busy, events are usually waiting: take them with a raw,
		// non-blocking epoll_wait, which the Go scheduler does not see.
		// Only when there are none does the loop block in a system call
		// the scheduler knows of (its P then goes to other goroutines).
		n, err := epollPoll(lp.ep, events)
		if n == 0 && err == nil {
			n, err = unix.EpollWait(lp.ep, events, int(loopTick/time.Millisecond))
		}
		if err != nil && err != unix.EINTR {
			lp.ls.p.log.Error("proxy event loop: epoll_wait", "err", err)
			break
		}
		lp.now = time.Now().UnixNano()
		for i := 0; i < n; i++ {
			ev := &events[i]
			if ev.Fd == -1 {
				lp.runTasks()
				continue
			}
			if h := lp.fds[ev.Fd]; h != nil {
				h.event(ev.Events)
			}
		}
		if lp.now-lp.scanned >= int64(loopTick) {
			lp.scanned = lp.now
			lp.scan()
		}
	}
	for c := range lp.clients {
		c.abort()
	}
	for b, idle := range lp.idle {
		for _, bc := range idle {
			bc.close()
		}
		delete(lp.idle, b)
	}
	lp.closeFDs()
}

// scan enforces the deadlines.
func (lp *eloop) scan() {
	for c := range lp.clients {
		c.check(lp.now)
	}
	for b, idle := range lp.idle {
		kept := idle[:0]
		for _, bc := range idle {
			if !b.accepting.Load() || time.Duration(lp.now-bc.idleAt) > idleTimeout || bc.gen != b.cutGen.Load() {
				bc.close()
				continue
			}
			kept = append(kept, bc)
		}
		clear(idle[len(kept):])
		if len(kept) == 0 {
			delete(lp.idle, b)
		} else {
			lp.idle[b] = kept
		}
	}
}

func (lp *eloop) addClient(c *lclient) {
	c.lp = lp
	c.since = time.Now().UnixNano()
	c.in = make([]byte, clientReadBuf)
	id, err := lp.register(c.fd, c)
	if err != nil {
		unix.Close(c.fd)
		c.l.loopConns.Add(-1)
		return
	}
	c.id = id
	lp.clients[c] = struct{}{}
	if c.tls != nil {
		// The handshake may have read (part of) the first request.
		c.readable = true
		c.read()
	}
}

// cutBackend closes the connections to b, in flight or idle.
func (lp *eloop) cutBackend(b *backend) {
	for c := range lp.clients {
		if c.bc != nil && c.bc.b == b {
			if c.bc.headDone {
				c.bodyFailed()
			} else {
				c.noAnswer(errCut)
			}
		}
	}
	for _, bc := range lp.idle[b] {
		bc.close()
	}
	delete(lp.idle, b)
}

func (lp *eloop) dropListener(l *listener) {
	for c := range lp.clients {
		if c.l == l {
			c.abort()
		}
	}
}

// getConn returns an idle connection to b or starts dialing one; nil when
// b's address is not an IP address or the socket cannot be made.
func (lp *eloop) getConn(b *backend) *lbconn {
	gen := b.cutGen.Load()
	for idle := lp.idle[b]; len(idle) > 0; idle = lp.idle[b] {
		bc := idle[len(idle)-1]
		idle[len(idle)-1] = nil
		lp.idle[b] = idle[:len(idle)-1]
		if bc.gen != gen {
			bc.close()
			continue
		}
		bc.reused = true
		return bc
	}
	return lp.dial(b, gen)
}

// putConn pools bc after a complete answer.
func (lp *eloop) putConn(bc *lbconn) {
	bc.c = nil
	b := bc.b
	idle := lp.idle[b]
	if !b.accepting.Load() || len(idle) >= maxIdlePerBackend || bc.gen != b.cutGen.Load() || bc.r != bc.w || bc.rdhup {
		bc.close()
		return
	}
	bc.idleAt = lp.now
	bc.r, bc.w = 0, 0
	lp.idle[b] = append(idle, bc)
}

// errCut is a backend connection closed by a drain timeout.
var errCut = syscall.ECONNABORTED

// epollPoll is epoll_wait with a zero timeout, as a raw system call (it
// never blocks).
func epollPoll(ep int, events []unix.EpollEvent) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_WAIT, uintptr(ep), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
