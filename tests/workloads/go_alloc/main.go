// go_alloc: Go heap allocations of known sizes in known functions, for
// flare's hook on the Go runtime's own allocation sampling.
//
//	go_alloc [-rate N]
//
// Sets runtime.MemProfileRate to N (default 1: every allocation sampled),
// then allocA allocates 4096 blocks of 1 KiB and drops them all, allocB
// allocates 1024 blocks of 64 KiB and keeps every other one. Two
// collections free what is dropped. Prints one "truth func=... count=N
// bytes=N inuse=N" line per function, then "done". Both sizes are exact in
// Go's allocator (a size class, and 8 whole pages), so the bytes the runtime
// reports equal the bytes asked for.
package main

import (
	"flag"
	"fmt"
	"runtime"
	"time"
)

const (
	smallBlocks = 4096
	smallSize   = 1024
	largeBlocks = 1024
	largeSize   = 64 << 10
)

// Globals, not heap slices: filling them allocates nothing but the blocks.
var (
	keepA [smallBlocks][]byte
	keepB [largeBlocks][]byte
)

var warm []byte

//go:noinline
func warmUp() {
	for i := 0; i < 8<<10; i++ {
		warm = make([]byte, smallSize)
	}
	warm = nil
}

//go:noinline
func allocA() {
	for i := range keepA {
		keepA[i] = make([]byte, smallSize)
	}
	for i := range keepA {
		keepA[i] = nil
	}
}

//go:noinline
func allocB() {
	for i := range keepB {
		keepB[i] = make([]byte, largeSize)
	}
	for i := 1; i < len(keepB); i += 2 {
		keepB[i] = nil
	}
}

func main() {
	rate := flag.Int("rate", 1, "runtime.MemProfileRate")
	flag.Parse()
	// The first collection starts the runtime's mark workers (it allocates
	// their goroutines on the goroutine that triggers it): done before
	// sampling starts, so that allocA and allocB allocate only their blocks.
	runtime.GC()
	runtime.MemProfileRate = *rate
	if *rate != 1 {
		// Each P's allocation cache counts down to its next sample, drawn
		// with the rate in force when it was last drawn (512 KiB at
		// start): with one P, 8 MiB allocated here uses up that distance,
		// so allocA and allocB are sampled at the new rate from their first
		// byte. (Rate 1 samples every allocation regardless.)
		runtime.GOMAXPROCS(1)
		warmUp()
	}
	allocA()
	allocB()
	runtime.GC()
	runtime.GC()
	// Referenced so that the linker keeps memory profiling on.
	n, _ := runtime.MemProfile(nil, false)
	_ = n
	fmt.Printf("truth func=main.allocA count=%d bytes=%d inuse=0\n", smallBlocks, smallBlocks*smallSize)
	fmt.Printf("truth func=main.allocB count=%d bytes=%d inuse=%d\n", largeBlocks, largeBlocks*largeSize,
		largeBlocks/2*largeSize)
	fmt.Println("done")
	// The profiler reads this process's symbols while it drains its last
	// events: a moment before exiting.
	time.Sleep(300 * time.Millisecond)
	runtime.KeepAlive(&keepB)
}
