package main

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestSetDefaultGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)

	t.Setenv("GOGC", "") // restores the original at the end
	os.Unsetenv("GOGC")
	setDefaultGC()
	if got := debug.SetGCPercent(100); got != defaultGOGC {
		t.Errorf("GOGC unset: GC percent %d, want %d", got, defaultGOGC)
	}

	t.Setenv("GOGC", "200") // the runtime read it at start; setDefaultGC must leave the setting alone
	debug.SetGCPercent(123)
	setDefaultGC()
	if got := debug.SetGCPercent(100); got != 123 {
		t.Errorf("GOGC set: GC percent changed to %d", got)
	}
}
