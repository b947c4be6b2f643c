# A flipped bit in data.mdb: every reader names the record, skips it, exits 1, never sends it.
mcm_shell_test(damaged ${CMAKE_CURRENT_LIST_DIR}/test_damaged.sh integration)
