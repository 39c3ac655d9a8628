// Go workload of the goroutine integration tests: goroutines wait in known
// functions, for known reasons, and the program measures each wait itself
// (the truth flare's park->ready latencies are compared with).
//
//	go_waits waits   chan receive, sync.Mutex, time.Sleep and a loopback TCP
//	                 read; prints one "name total_ns count" line per kind of
//	                 wait, then exits with status 3 (so a test can see the
//	                 exit status pass through flare unchanged)
//	go_waits churn N N short-lived goroutines passing values through
//	                 channels; prints a checksum that depends on every one
//	                 (and its run time on stderr)
//	go_waits loop S  prints "ready", then for S seconds a goroutine sleeps
//	                 10 ms and sends to main, which waits on the channel;
//	                 prints "loop N" (rounds) at the end (for attaching with -p)
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

const (
	chanReceivers = 4
	chanDelay     = 300 * time.Millisecond
	sleepers      = 3
	sleepRounds   = 2
	sleepFor      = 200 * time.Millisecond
	mutexWaiters  = 2
	mutexHold     = 250 * time.Millisecond
	netDelay      = 200 * time.Millisecond
)

type total struct{ ns, count int64 }

func (t *total) add(d time.Duration) {
	atomic.AddInt64(&t.ns, int64(d))
	atomic.AddInt64(&t.count, 1)
}

//go:noinline
func chanReceiver(ch <-chan int, t *total, wg *sync.WaitGroup) {
	defer wg.Done()
	start := time.Now()
	<-ch
	t.add(time.Since(start))
}

//go:noinline
func chanSender(chs []chan int) {
	time.Sleep(chanDelay)
	for _, c := range chs {
		c <- 1
	}
}

//go:noinline
func sleeper(t *total, wg *sync.WaitGroup) {
	defer wg.Done()
	for i := 0; i < sleepRounds; i++ {
		start := time.Now()
		time.Sleep(sleepFor)
		t.add(time.Since(start))
	}
}

//go:noinline
func mutexWaiter(mu *sync.Mutex, t *total, wg *sync.WaitGroup) {
	defer wg.Done()
	start := time.Now()
	mu.Lock()
	t.add(time.Since(start))
	mu.Unlock()
}

//go:noinline
func mutexHolder(mu *sync.Mutex, locked chan<- struct{}) {
	mu.Lock()
	close(locked)
	time.Sleep(mutexHold)
	mu.Unlock()
}

//go:noinline
func netWriter(ln net.Listener) {
	conn, err := ln.Accept()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	time.Sleep(netDelay)
	if _, err := conn.Write([]byte("hello")); err != nil {
		panic(err)
	}
}

//go:noinline
func netReader(addr string, t *total) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	buf := make([]byte, 5)
	start := time.Now()
	if _, err := io.ReadFull(conn, buf); err != nil {
		panic(err)
	}
	t.add(time.Since(start))
}

func waits() {
	var chanWait, sleepWait, mutexWait, netWait total
	var wg sync.WaitGroup

	chs := make([]chan int, chanReceivers)
	for i := range chs {
		chs[i] = make(chan int)
		wg.Add(1)
		go chanReceiver(chs[i], &chanWait, &wg)
	}
	go chanSender(chs)

	for i := 0; i < sleepers; i++ {
		wg.Add(1)
		go sleeper(&sleepWait, &wg)
	}

	var mu sync.Mutex
	locked := make(chan struct{})
	go mutexHolder(&mu, locked)
	<-locked
	for i := 0; i < mutexWaiters; i++ {
		wg.Add(1)
		go mutexWaiter(&mu, &mutexWait, &wg)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go netWriter(ln)
	netReader(ln.Addr().String(), &netWait)
	wg.Wait()
	ln.Close()

	for _, w := range []struct {
		name string
		t    *total
	}{{"chan", &chanWait}, {"sleep", &sleepWait}, {"mutex", &mutexWait}, {"net", &netWait}} {
		fmt.Printf("%s %d %d\n", w.name, w.t.ns, w.t.count)
	}
	os.Exit(3)
}

//go:noinline
func churnWorker(in <-chan uint64, out chan<- uint64) {
	v := <-in
	out <- v*2654435761 + 1
}

func churn(n int) {
	start := time.Now()
	var sum uint64
	const batch = 1000
	for done := 0; done < n; done += batch {
		in := make(chan uint64)
		out := make(chan uint64, batch)
		for i := 0; i < batch; i++ {
			go churnWorker(in, out)
		}
		for i := 0; i < batch; i++ {
			in <- uint64(done + i)
		}
		for i := 0; i < batch; i++ {
			sum += <-out
		}
	}
	fmt.Printf("churn %d checksum %d\n", n, sum)
	// On stderr: stdout must not depend on timing (tests compare it).
	fmt.Fprintf(os.Stderr, "churn elapsed_ns %d\n", time.Since(start).Nanoseconds())
}

//go:noinline
func loopWorker(ch chan<- int, rounds int) {
	for i := 0; i < rounds; i++ {
		time.Sleep(10 * time.Millisecond)
		ch <- i
	}
	close(ch)
}

//go:noinline
func loopMain(seconds int) {
	fmt.Println("ready")
	ch := make(chan int)
	go loopWorker(ch, seconds*100)
	n := 0
	for range ch {
		n++
	}
	fmt.Printf("loop %d\n", n)
}

func main() {
	if len(os.Args) >= 2 && os.Args[1] == "waits" {
		waits()
	}
	if len(os.Args) == 3 && os.Args[1] == "loop" {
		seconds, err := strconv.Atoi(os.Args[2])
		if err == nil && seconds > 0 {
			loopMain(seconds)
			return
		}
	}
	if len(os.Args) == 3 && os.Args[1] == "churn" {
		n, err := strconv.Atoi(os.Args[2])
		if err == nil && n > 0 {
			churn(n)
			return
		}
	}
	fmt.Fprintln(os.Stderr, "usage: go_waits waits | churn N | loop SECONDS")
	os.Exit(2)
}
