//go:build race

package zkserver

// raceDetector: this test binary runs under -race, which slows the
// embedded engine about tenfold: the tests of FoundationDB's limits
// scale their work down (limits_test.go, limitScale), so that a multi of
// the set-up still commits within the 5-second window.
const raceDetector = true
