// Command netprobe is the end-to-end test's network stand-in, since the
// test's Debian has no curl and no web server:
//
//	netprobe serve ADDR...  answers every HTTP request on each ADDR with
//	                        "served by ADDR"
//	netprobe get URL        fetches URL through $HTTP_PROXY and prints the
//	                        body; exits 1 on an error or a status ≥ 400
//	netprobe dial PATH      connects to the SOCK_SEQPACKET socket PATH;
//	                        exits 0 when it could
//
// get sends every request to the proxy, loopback included: Go's own
// ProxyFromEnvironment would skip it for 127.0.0.1, and the command's
// network namespace has nothing else to reach.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: netprobe serve ADDR... | get URL")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2:])
	case "get":
		os.Exit(get(os.Args[2]))
	case "dial":
		c, err := net.Dial("unixpacket", os.Args[2])
		if err != nil {
			fmt.Println("netprobe:", err)
			os.Exit(1)
		}
		c.Close()
		fmt.Println("connected to", os.Args[2])
		os.Exit(0)
	}
	os.Exit(2)
}

func serve(addrs []string) {
	errs := make(chan error)
	for _, a := range addrs {
		go func() {
			errs <- http.ListenAndServe(a, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				fmt.Fprintf(w, "served by %s\n", a)
			}))
		}()
	}
	fmt.Fprintln(os.Stderr, <-errs)
	os.Exit(1)
}

func get(target string) int {
	proxy, err := url.Parse(os.Getenv("HTTP_PROXY"))
	if err != nil || proxy.Host == "" {
		fmt.Fprintln(os.Stderr, "netprobe: no HTTP_PROXY")
		return 1
	}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}}
	resp, err := c.Get(target)
	if err != nil {
		fmt.Fprintln(os.Stderr, "netprobe:", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Printf("%s %s", resp.Status, body)
	if resp.StatusCode >= 400 {
		return 1
	}
	return 0
}
