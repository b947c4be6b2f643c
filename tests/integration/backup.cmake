# Tests of `mcmirror snapshot`, `load` and `import`: real LMDB files, real memcached servers on loopback.
add_executable(backup_check ${CMAKE_CURRENT_LIST_DIR}/backup_check.c)
target_link_libraries(backup_check PRIVATE mcm_store)
set_target_properties(backup_check PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
mcm_shell_test(snapshot ${CMAKE_CURRENT_LIST_DIR}/test_snapshot.sh integration)
mcm_shell_test(load ${CMAKE_CURRENT_LIST_DIR}/test_load.sh integration)
mcm_shell_test(import ${CMAKE_CURRENT_LIST_DIR}/test_import.sh integration)
