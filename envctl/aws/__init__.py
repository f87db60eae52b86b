"""Everything that talks to AWS (or the sandbox): sessions, the sandbox, sleep and wake."""
