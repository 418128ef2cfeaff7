"""The `policy-monitor` command, one module per command group."""
