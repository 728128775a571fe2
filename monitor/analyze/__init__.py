"""Analysis: text in, scores out. Pure: no HTTP, no database (the pipeline stage that stores
scores lives beside the other stages' stores)."""
