"""devnet: a local Aleph node (HTTP API on SQLite + files) and a local compute node that runs
PROGRAM messages as processes, so fishnet-stack runs on one machine with no network."""
