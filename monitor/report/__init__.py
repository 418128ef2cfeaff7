"""Reading the stored history: the timeline, exports and the git history, as pure formatting."""
