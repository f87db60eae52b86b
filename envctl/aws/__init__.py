"""AWS access: the embedded sandbox, sessions, sleep and wake of nodegroups and friends."""
