// go_plain: a Go program that never reads its memory profile, so Go's
// linker builds it without memory profiling (runtime.MemProfile is not
// linked in and the runtime samples no allocations). flare must say so.
package main

import "fmt"

var sink []byte

func main() {
	for i := 0; i < 1000; i++ {
		sink = make([]byte, 4096)
	}
	fmt.Println("done", len(sink))
}
