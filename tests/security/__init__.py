"""The security suite (issue 8)."""
