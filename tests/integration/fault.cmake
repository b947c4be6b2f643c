# Fault injection: what happens to a mirror in use (journal read-only or swapped, directory
# removed) never changes the host's output (tests/integration/test_fault.sh).
mcm_shell_test(fault_injection ${CMAKE_CURRENT_LIST_DIR}/test_fault.sh integration)
