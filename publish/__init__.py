"""Files produced for people (SPEC §6): return files, receipts, reports, bank files."""
