package deploy

// imageEntrypoint is where the Dockerfile puts the binary; the ECS health
// check execs it directly because the image has no shell.
const imageEntrypoint = "/usr/local/bin/socmond"
