package probes

// stackPad is the stack a probe's AWS SDK call is given up front: an SDK
// call (a middleware stack of some forty handlers, signing, JSON decoding)
// needs between 16 and 32 KiB, and with this pad the goroutine's stack goes
// straight to 32 KiB (BenchmarkProbeRoundTrip's profile shows no further
// growth).
const stackPad = 24 << 10

// growStack grows the calling goroutine's stack to what an SDK call needs
// in one step, while the stack is still shallow. Each probe runs on a new
// goroutine whose stack starts at a few KiB; left alone it doubled four
// times inside the SDK, each time copying every frame of a deep call chain
// and adjusting its pointers: 12 % of socmond's CPU at 100 probes/s
// (runtime.copystack in a profile of the daemon). One copy of a shallow
// stack costs a fraction of that; the memory is what the call would have
// taken anyway.
//
//go:noinline
func growStack() {
	var pad [stackPad]byte
	touch(pad[:]) // keeps pad, and so the frame, from being optimised away
}

//go:noinline
func touch(b []byte) { b[0], b[len(b)-1] = 1, 1 }
