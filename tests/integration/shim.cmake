# Shim integration tests: a driver calls every intercepted write under the shim
# (linked with libmemcached only), mirror_check compares servers and mirror.
set(shim_dir ${CMAKE_CURRENT_LIST_DIR})
add_executable(shim_drive ${shim_dir}/drive.c ${shim_dir}/shim_cases.c ${shim_dir}/shim_concurrency.c
  ${shim_dir}/shim_expect.c ${shim_dir}/shim_raw.c ${shim_dir}/shim_answers.c
  ${shim_dir}/shim_desync.c)
target_link_libraries(shim_drive PRIVATE PkgConfig::LIBMEMCACHED Threads::Threads)
target_include_directories(shim_drive PRIVATE ${CMAKE_SOURCE_DIR}/store) # fork_quiet.h: the journal header
add_executable(mirror_check ${shim_dir}/mirror_check.c ${shim_dir}/shim_raw.c)
target_link_libraries(mirror_check PRIVATE mcm_store PkgConfig::LIBMEMCACHED)
# shim_title: a host that overwrites its argv/environment block to set its process title
add_executable(shim_title ${shim_dir}/shim_title.c)
target_link_libraries(shim_title PRIVATE PkgConfig::LIBMEMCACHED)
# shim_every: every call at random in threads and processes, restored exactly after a crash
add_executable(shim_every ${shim_dir}/shim_every.c ${shim_dir}/shim_raw.c)
target_link_libraries(shim_every PRIVATE PkgConfig::LIBMEMCACHED Threads::Threads)
# journal_taker: a drainer faster than every call (takes over each one-record write in flight)
add_executable(journal_taker ${shim_dir}/journal_taker.c)
target_link_libraries(journal_taker PRIVATE mcm_store)
set_target_properties(shim_drive mirror_check shim_title shim_every journal_taker PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

foreach(t ascii binary edge answers desync desync_random every threads forks disabled unusable once title memcheck takeover)
  mcm_shell_test(shim_${t} ${shim_dir}/test_shim_${t}.sh integration)
endforeach()
