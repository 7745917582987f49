"""The hosted login: a persisted login transaction advanced by an ordered list of stages."""
