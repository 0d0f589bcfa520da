"""Live updates: the hub that fans out news of committed events, and the org's SSE stream."""
