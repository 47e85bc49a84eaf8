// Command probe is test/k8s's test image: an HTTP server and the client
// commands the tests run in its pods with kubectl exec.
//
//	probe serve             answer GET / with "MESSAGE HOSTNAME" on :8080
//	probe get URL           print the body of GET URL (exit 1 on failure)
//	probe lookup NAME       print NAME's addresses, one per line
//	probe write FILE TEXT   write TEXT to FILE, read it back, print it
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: probe serve|get URL|lookup NAME|write FILE TEXT"))
	}
	var err error
	switch args := os.Args[2:]; os.Args[1] {
	case "serve":
		err = serve()
	case "get":
		err = get(args)
	case "lookup":
		err = lookup(args)
	case "write":
		err = write(args)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "probe:", err)
	os.Exit(1)
}

func serve() error {
	host, _ := os.Hostname()
	msg := os.Getenv("MESSAGE")
	srv := &http.Server{Addr: ":8080", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s\n", msg, host)
	})}
	go func() {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
		<-c
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		return err
	}
	return nil
}

func get(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: probe get URL")
	}
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(args[0])
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", args[0], resp.Status, b)
	}
	_, err = os.Stdout.Write(b)
	return err
}

func lookup(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: probe lookup NAME")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, args[0])
	if err != nil {
		return err
	}
	for _, a := range addrs {
		fmt.Println(a)
	}
	return nil
}

func write(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: probe write FILE TEXT")
	}
	if err := os.WriteFile(args[0], []byte(args[1]), 0o644); err != nil {
		return err
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(b)
	return err
}
