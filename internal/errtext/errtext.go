// Package errtext turns the errors berth's commands return into what
// berth prints and its exit code.
package errtext

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ExitStatus ends berth with this exit code and no message: what a command
// returns when its answer is the code (diff --exit-code).
type ExitStatus int

func (e ExitStatus) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// Describe is the one place that turns an error into what berth prints
// (after "berth: ") and its exit code. Commands return errors as they come;
// the Go and transport details users cannot act on are rewritten here:
//   - permission denied on the daemon's socket says how to get access;
//   - an unreachable registry is one line (not the https and http attempts
//     each with their URL), naming the registry and why;
//   - a registry's error answer shows its code and message, not a Go map;
//   - a missing file reads "PATH: no such file or directory" whatever
//     command or syscall (open, stat) hit it.
func Describe(err error) (string, int) {
	var st ExitStatus
	if errors.As(err, &st) {
		return "", int(st)
	}
	msg := err.Error()
	var op *net.OpError
	if errors.As(err, &op) && op.Net == "unix" && errors.Is(err, fs.ErrPermission) {
		sock := op.Addr.String()
		return fmt.Sprintf("permission denied on the daemon socket %s: run berth as root, or join the group that owns the socket (ls -l %s)", sock, sock), 1
	}
	if n := transportNode(err); n != nil {
		msg = strings.Replace(msg, n.Error(), unreachable(n), 1)
	}
	var te *transport.Error
	if errors.As(err, &te) {
		msg = strings.Replace(msg, te.Error(), registryAnswer(te), 1)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && errors.Is(pe.Err, fs.ErrNotExist) {
		msg = strings.Replace(msg, pe.Error(), pe.Path+": no such file or directory", 1)
	}
	return msg, 1
}

// requestText is how net/http (and go-containerregistry's ping, which joins
// its https and http attempts with "; ") start a failed request's error.
var requestText = regexp.MustCompile(`^(Get|Head|Post|Put|Patch|Delete) "https?://`)

// transportNode is the outermost error in err's chain that is a failed
// connection to a TCP server (a registry): its text is replaced whole.
func transportNode(err error) error {
	for e := err; e != nil; e = errors.Unwrap(e) {
		var op *net.OpError
		var dns *net.DNSError
		if requestText.MatchString(e.Error()) && (errors.As(e, &op) && strings.HasPrefix(op.Net, "tcp") || errors.As(e, &dns)) {
			return e
		}
	}
	return nil
}

// unreachable says which registry could not be reached and why, in one line.
func unreachable(err error) string {
	host := "the registry"
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = "registry " + u.Host
		}
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		if dns.IsNotFound {
			return fmt.Sprintf("cannot reach %s: no such host", host)
		}
		return fmt.Sprintf("cannot reach %s: name lookup failed: %s", host, dns.Err)
	}
	var op *net.OpError
	if errors.As(err, &op) {
		reason := op.Err.Error()
		var se interface{ Unwrap() error }
		if errors.As(op.Err, &se) && se.Unwrap() != nil {
			reason = se.Unwrap().Error() // "connection refused", not "connect: connection refused"
		}
		if op.Timeout() {
			reason = "timed out"
		}
		return fmt.Sprintf("cannot reach %s: %s", host, reason)
	}
	return "cannot reach " + host
}

// registryAnswer is a registry's error response as a user reads it: the
// OCI error codes and messages (details only when they are text), and
// "no such image" for an unknown manifest or repository.
func registryAnswer(te *transport.Error) string {
	host := "the registry"
	if te.Request != nil && te.Request.URL != nil {
		host = "registry " + te.Request.URL.Host
	}
	var parts []string
	missing := te.StatusCode == http.StatusNotFound && len(te.Errors) == 0
	for _, d := range te.Errors {
		p := string(d.Code)
		if d.Message != "" {
			p += ": " + d.Message
		}
		if s, ok := d.Detail.(string); ok && s != "" {
			p += " (" + s + ")"
		}
		parts = append(parts, p)
		if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
			missing = true
		}
	}
	if len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("HTTP %d %s", te.StatusCode, http.StatusText(te.StatusCode)))
	}
	said := fmt.Sprintf("%s answered %s", host, strings.Join(parts, "; "))
	if missing {
		return "no such image (" + said + ")"
	}
	return said
}
