# Tests of the bounded mirror: the sweep under churn through the shim, the byte cap, followers
# behind the purge horizon, `mcmirror compact`. Real memcached, real LMDB files.
add_executable(bound_churn ${CMAKE_CURRENT_LIST_DIR}/bound_churn.c)
target_link_libraries(bound_churn PRIVATE PkgConfig::LIBMEMCACHED)
add_executable(bound_tool ${CMAKE_CURRENT_LIST_DIR}/bound_tool.c)
target_link_libraries(bound_tool PRIVATE mcm_store PkgConfig::LIBMEMCACHED)
set_target_properties(bound_churn bound_tool PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
mcm_shell_test(bound_churn ${CMAKE_CURRENT_LIST_DIR}/test_bound_churn.sh integration)
mcm_shell_test(bound_cap ${CMAKE_CURRENT_LIST_DIR}/test_bound_churn.sh integration)
set_property(TEST bound_cap APPEND PROPERTY ENVIRONMENT "BOUND_CAP=1")
mcm_shell_test(bound_horizon ${CMAKE_CURRENT_LIST_DIR}/test_bound_horizon.sh integration)
mcm_shell_test(compact ${CMAKE_CURRENT_LIST_DIR}/test_compact.sh integration)
mcm_shell_test(bound_sweepinfo ${CMAKE_CURRENT_LIST_DIR}/test_bound_sweepinfo.sh integration)
