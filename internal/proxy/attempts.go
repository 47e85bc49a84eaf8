package proxy

// attempts is one HTTP request's way through a route's backends: the
// retry rules of listener.forward (forward.go), which both HTTP paths go
// through.
type attempts struct {
	tried        uint64 // backends route.pick leaves out
	staleRetries int
	// sentFailed: a try failed after the request was sent, so the
	// request is not held waiting for backends: it is answered 502.
	sentFailed bool
}

// prior is where a request's first try, made by an event loop, left
// off: listener.forward goes on from there on the goroutine path.
type prior struct {
	a   attempts
	err error // the failure, for the 502's text
}

// skip leaves backend idx out of the next picks.
func (a *attempts) skip(idx int) { a.tried |= bit(idx) }

// notSent records that connecting to b failed before anything was sent:
// any request may go to another backend.
func (a *attempts) notSent(b *backend, idx int) {
	b.markFailed()
	a.skip(idx)
}

// noAnswer records that a replayable request was sent to b and nothing
// came back. On a reused connection that is most likely the backend
// closing it as we sent: the request is tried again (twice at most), the
// same backend allowed. Otherwise b counts as failed and is skipped.
func (a *attempts) noAnswer(b *backend, idx int, reused bool) {
	if reused && a.staleRetries < 2 {
		a.staleRetries++
		return
	}
	b.markFailed()
	a.skip(idx)
	a.sentFailed = true
}
