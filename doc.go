// Package pacer is the root of pacer, a job runner for long, rate-limited API
// collection work. The program is cmd/pacer; DESIGN.md and STYLE.md in the
// shared folder describe the packages. This package holds no code: only the
// test that keeps the import directions between the packages as designed.
package pacer
