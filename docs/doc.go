// Package docs holds no code: its tests keep the documentation true to the
// code (architecture.md's Packages table against `go list`).
package docs
