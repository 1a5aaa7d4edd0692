//go:build !race

package zkserver

// raceDetector: see race_on_test.go.
const raceDetector = false
