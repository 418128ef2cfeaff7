"""`python -m monitor` runs the `policy-monitor` command."""

from monitor.cli.main import main

main()
