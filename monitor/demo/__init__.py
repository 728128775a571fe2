"""The bundled demo: sample outlets served on 127.0.0.1 so the pipeline runs with no internet."""
