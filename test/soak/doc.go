// Package soak is the chaos soak: the real socmond binary probes over 200
// resources in the in-process AWS simulator while a seeded random schedule
// of faults plays, and the test checks that the daemon keeps running, keeps
// answering, and reports each fault as what it is. The daemon gets its
// credentials through STS (web identity) and pages a real Alertmanager:
// one phase stops Alertmanager, the next starts it again, and the last
// phase makes every credential refresh fail.
//
// `go test ./test/soak` runs the 60-second version (inside `make test`);
// `make soak` runs it for 10 minutes (-soak.duration). See docs/reliability.md.
package soak
