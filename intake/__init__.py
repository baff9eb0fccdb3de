"""Reading town submissions from disk (SPEC §2): files in, raw string rows out.

The only I/O layer for submissions; typing and rules live in `transforms/`.
"""

from intake.readers import Problem, ReadResult, header_key, read_submission

__all__ = ["Problem", "ReadResult", "header_key", "read_submission"]
