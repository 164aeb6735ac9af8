package awssim

// TB is the part of testing.TB that Serve uses; awssim does not import
// testing, since the product binary carries it (`socmond sim`, `demo`).
type TB interface {
	Helper()
	Fatal(args ...any)
	Cleanup(func())
}

// Serve starts a simulator seeded with seed on a free port of 127.0.0.1,
// stops it when the test ends, and returns it with its URL.
func Serve(tb TB, seed Seed) (*Sim, string) {
	tb.Helper()
	sim := New(seed)
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = sim.Close() })
	return sim, url
}
