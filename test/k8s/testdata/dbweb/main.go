// Command dbweb is test/k8s's database-like service and web service, one
// static Go program (test/k8s TestDatabaseAndWebOnKubernetes):
//
//	dbweb db DIR SECRET   the "database": refuses to run as root, reads the
//	                      secret file (exit 1 when it cannot), counts its
//	                      starts in DIR/boots, and answers every TCP
//	                      connection on :5432 with one line describing itself
//	dbweb web ADDR        the web service: GET / on :8080 dials ADDR (db:5432,
//	                      by name through cluster DNS) and returns db's line
//	dbweb check ADDR      exit 0 when a TCP connection to ADDR succeeds (the
//	                      services' health check)
//	dbweb stat FILE       print FILE's mode, uid and gid, and whether this
//	                      process can read it
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		fail(fmt.Errorf("usage: dbweb db DIR SECRET | web ADDR | check ADDR | stat FILE"))
	}
	var err error
	switch args := os.Args[2:]; os.Args[1] {
	case "db":
		if len(args) != 2 {
			fail(fmt.Errorf("usage: dbweb db DIR SECRET"))
		}
		err = db(args[0], args[1])
	case "web":
		err = web(args[0])
	case "check":
		err = check(args[0])
	case "stat":
		var s string
		s, err = stat(args[0])
		fmt.Println(s)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "dbweb:", err)
	os.Exit(1)
}

func db(dir, secret string) error {
	if os.Getuid() == 0 {
		return fmt.Errorf("refusing to run as root")
	}
	pw, err := os.ReadFile(secret)
	if err != nil {
		return fmt.Errorf("read the password: %w", err)
	}
	sum := sha256.Sum256(pw)
	info, err := stat(secret)
	if err != nil {
		return err
	}
	boots := 1
	if b, err := os.ReadFile(filepath.Join(dir, "boots")); err == nil {
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		boots = n + 1
	}
	if err := os.WriteFile(filepath.Join(dir, "boots"), []byte(strconv.Itoa(boots)+"\n"), 0o600); err != nil {
		return fmt.Errorf("write to the data volume: %w", err)
	}
	line := fmt.Sprintf("db uid=%d gid=%d password-sha256=%s secret=[%s] boots=%d\n", os.Getuid(), os.Getgid(), hex.EncodeToString(sum[:8]), info, boots)
	l, err := net.Listen("tcp", ":5432")
	if err != nil {
		return err
	}
	go stopOnSignal(func() { l.Close() })
	fmt.Print("ready: ", line)
	for {
		c, err := l.Accept()
		if err != nil {
			return nil
		}
		c.Write([]byte(line))
		c.Close()
	}
}

func web(addr string) error {
	srv := &http.Server{Addr: ":8080", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprintf(w, "web -> %s", line)
	})}
	go stopOnSignal(func() { srv.Close() })
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		return err
	}
	return nil
}

func check(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// stat says FILE's mode, owner and group and whether this process reads it.
func stat(file string) (string, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return "", err
	}
	st := fi.Sys().(*syscall.Stat_t)
	readable := "readable"
	if _, err := os.ReadFile(file); err != nil {
		readable = "unreadable"
	}
	return fmt.Sprintf("mode=%#o uid=%d gid=%d %s", fi.Mode().Perm(), st.Uid, st.Gid, readable), nil
}

func stopOnSignal(stop func()) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
	stop()
}
