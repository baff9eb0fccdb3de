"""Money out: the monthly close, bank returns, voids, re-issues and one-off payments."""
