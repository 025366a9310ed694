"""Reading the repository files: sources, safe YAML, schemas, loading."""
