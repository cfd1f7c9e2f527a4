"""Layer 5, runs: a corpus run end to end (plan, batches, commits, report), without Prefect."""
