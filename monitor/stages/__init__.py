"""Pipeline glue: each module runs one pure part (fetch/ in crawl.py, analyze/, events/, reports/)
over what the previous stage stored, and stores the result; pipeline.py wires them into the one `Pipeline` that
`fenghuo run`, `worker` and `fetch` start, and replay.py plays a timeline through them on a scratch
database. The pure parts themselves know nothing of the database (tests/test_layers.py)."""
