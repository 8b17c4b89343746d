"""`paydesk …`'s commands, one module per group; paydesk/cli.py puts them together."""
