# Tests of the tool as operators use it (issue 11): outputs that never damage what is there,
# full and read-only filesystems, a mirror owned by a service user, scripting (--json, exit
# statuses), monitoring (Prometheus), options anywhere, server lists, bounded memory in load.
# Real LMDB files, real tmpfs mounts and real memcached servers on loopback; parts that need root
# (mount, mknod, another user) are skipped with a reason where the test does not run as root.
mcm_shell_test(ops_outputs ${CMAKE_CURRENT_LIST_DIR}/test_ops_outputs.sh integration)
mcm_shell_test(ops_snapshot ${CMAKE_CURRENT_LIST_DIR}/test_ops_snapshot.sh integration)
mcm_shell_test(ops_owner ${CMAKE_CURRENT_LIST_DIR}/test_ops_owner.sh integration)
mcm_shell_test(ops_leftovers ${CMAKE_CURRENT_LIST_DIR}/test_ops_leftovers.sh integration)
mcm_shell_test(ops_fullro ${CMAKE_CURRENT_LIST_DIR}/test_ops_fullro.sh integration)
mcm_shell_test(ops_cli ${CMAKE_CURRENT_LIST_DIR}/test_ops_cli.sh integration)
mcm_shell_test(ops_json ${CMAKE_CURRENT_LIST_DIR}/test_ops_json.sh integration)
mcm_shell_test(ops_load ${CMAKE_CURRENT_LIST_DIR}/test_ops_load.sh integration)
