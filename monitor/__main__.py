"""`python -m monitor` runs the `policy-monitor` command."""

from monitor.cli import main

main()
