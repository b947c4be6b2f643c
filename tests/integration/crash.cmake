# Crash tests: the shim's guarantees when applications are killed, run concurrently, or fill the disk.
# MCM_CRASH_ITERATIONS (environment, default 50) sets the kills per sync mode of crash_kill_*.
add_executable(crash_writer ${CMAKE_CURRENT_LIST_DIR}/crash_writer.c ${CMAKE_CURRENT_LIST_DIR}/crash_model.c)
target_link_libraries(crash_writer PRIVATE PkgConfig::LIBMEMCACHED)
add_executable(crash_check ${CMAKE_CURRENT_LIST_DIR}/crash_check.c ${CMAKE_CURRENT_LIST_DIR}/crash_model.c)
target_link_libraries(crash_check PRIVATE mcm_store PkgConfig::LIBMEMCACHED)
set_target_properties(crash_writer crash_check PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
foreach(mode none everysec always)
  mcm_shell_test(crash_kill_${mode} ${CMAKE_CURRENT_LIST_DIR}/test_crash_kill.sh integration)
  set_property(TEST crash_kill_${mode} APPEND PROPERTY ENVIRONMENT "CRASH_SYNC=${mode}")
endforeach()
