//go:build !race

package main

// raceEnabled: the test runs without -race, and so will the shoal it
// builds (make soak: tens of thousands of goroutines are beyond it).
const raceEnabled = false
