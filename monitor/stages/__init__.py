"""Pipeline glue: each module runs one pure stage (analyze/, events/, reports/) over what the
previous stage stored, and stores the result; pipeline.py wires them into the one `Pipeline` that
`fenghuo run`, `worker` and `fetch` start. The stages themselves know nothing of the database."""
