"""Click commands, one module per family; each registers itself on `syncbot.cli.cli`."""
