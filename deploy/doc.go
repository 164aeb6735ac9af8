// Package deploy holds what users deploy — the Dockerfile's image, the
// Kubernetes manifests and Helm chart, the ECS task definition, the Grafana
// dashboard and the IAM policy —
// and the tests that prove each is correct as shipped, since nobody here can
// apply them to a real cluster or account. It has no code of its own; its
// tests decode every artifact strictly into the upstream types, check the
// cross-references, and regenerate the derived files (`make manifests`).
package deploy
