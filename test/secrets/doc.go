// Package secrets is the secret hygiene test: the real socmond binary runs
// every command and serves every endpoint holding known fake credentials
// (AWS access key, secret key and session token, an Alertmanager password
// and bearer token, a web basic-auth password), and the test asserts that
// none of them, plain or base64-encoded, appears in any log line, HTTP
// answer, command output or evidence report — the Alertmanager credentials
// only in the Authorization header sent to their own Alertmanager.
package secrets
