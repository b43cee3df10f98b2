// go_http: the Go net/http counterpart of weft's examples/http_hello, for bench/http_hello.sh.
// Usage: go_http [-port N]   (0: any free port; listens on 127.0.0.1)
// Prints "go_http: listening on 127.0.0.1:PORT" once it accepts connections. GOMAXPROCS is Go's
// default: the number of CPUs in the process's affinity mask, so `taskset -c 0` gives one P.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
)

func main() {
	port := flag.Int("port", 0, "port to listen on (0: any free port)")
	flag.Parse()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		log.Fatal(err)
	}
	body := []byte("Hello, World!")
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})
	fmt.Printf("go_http: listening on %s with GOMAXPROCS=%d\n", ln.Addr(), runtime.GOMAXPROCS(0))
	os.Stdout.Sync()
	log.Fatal(http.Serve(ln, nil))
}
