"""Click commands, one module per family. Each defines plain commands and groups and
imports only `commands.common` and the layers below; `syncbot.cli` registers them."""
