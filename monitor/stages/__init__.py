"""Pipeline glue: each module runs one pure stage (analyze/, later events/) over what the
previous stage stored, and stores the result. The stages themselves know nothing of the database."""
