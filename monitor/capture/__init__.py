"""Capture: fetch a policy page, judge whether it is the policy, and normalize it to text."""
