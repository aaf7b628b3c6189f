//go:build race

package main

// raceEnabled: the test runs with -race, and so will the shoal it builds.
const raceEnabled = true
