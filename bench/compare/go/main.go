// Go counterparts of weft's bench/workloads (standard library only).
// Usage: compare-go [w1_spawn|yield_ping]... (all when none)
// Prints one line per result: <workload> <who> <metric>=<value> <unit>
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

func line(workload, who, metric string, value float64, unit string) {
	fmt.Printf("%s %s %s=%.4g %s\n", workload, who, metric, value, unit)
}

// bestOf returns the best of reps runs: the machine is shared, the best run is the least disturbed.
func bestOf(reps int, higherIsBetter bool, f func() float64) float64 {
	best := f()
	for i := 1; i < reps; i++ {
		v := f()
		if (higherIsBetter && v > best) || (!higherIsBetter && v < best) {
			best = v
		}
	}
	return best
}

// w1_spawn: spawn 1,000,000 goroutines from main, each increments an atomic counter; wait for all.
func w1Spawn() {
	const tasks = 1_000_000
	for _, procs := range []int{1, 2} {
		runtime.GOMAXPROCS(procs)
		rate := bestOf(3, true, func() float64 {
			runtime.GC() // start each run from a clean heap
			var count atomic.Int64
			var wg sync.WaitGroup
			t0 := time.Now()
			wg.Add(tasks)
			for i := 0; i < tasks; i++ {
				go func() {
					count.Add(1)
					wg.Done()
				}()
			}
			wg.Wait()
			s := time.Since(t0).Seconds()
			if n := count.Load(); n != tasks {
				fmt.Fprintf(os.Stderr, "w1_spawn: count %d != %d\n", n, tasks)
				os.Exit(1)
			}
			return tasks / s
		})
		line("w1_spawn", fmt.Sprintf("go-p%d", procs), "tasks_per_s", rate, "tasks/s")
	}
}

// yield_ping: two goroutines on one P each call runtime.Gosched() 2,000,000 times.
func yieldPing() {
	const yields = 2_000_000 // per goroutine
	runtime.GOMAXPROCS(1)
	ns := bestOf(5, false, func() float64 {
		var wg sync.WaitGroup
		player := func() {
			for i := 0; i < yields; i++ {
				runtime.Gosched()
			}
			wg.Done()
		}
		t0 := time.Now()
		wg.Add(2)
		go player()
		go player()
		wg.Wait()
		return float64(time.Since(t0).Nanoseconds()) / (2.0 * yields)
	})
	line("yield_ping", "go-p1", "ns_per_switch", ns, "ns")
}

func main() {
	workloads := map[string]func(){"w1_spawn": w1Spawn, "yield_ping": yieldPing}
	names := os.Args[1:]
	if len(names) == 0 {
		names = []string{"w1_spawn", "yield_ping"}
	}
	for _, n := range names {
		f, ok := workloads[n]
		if !ok {
			fmt.Fprintf(os.Stderr, "compare-go: unknown workload '%s'; known: w1_spawn yield_ping\n", n)
			os.Exit(2)
		}
		f()
	}
}
