"""policy-monitor: watch privacy policies for material changes."""
