# Loader cases: plugins opened with RTLD_DEEPBIND (PHP) and RTLD_LOCAL (Python), RUNPATH under the hook.
set(loader_dir ${CMAKE_BINARY_DIR}/tests/loader)
add_library(loader_plugin SHARED ${CMAKE_CURRENT_LIST_DIR}/loader_plugin.c)
target_link_libraries(loader_plugin PRIVATE PkgConfig::LIBMEMCACHED)
add_library(loader_empty SHARED ${CMAKE_CURRENT_LIST_DIR}/loader_empty.c)
add_executable(loader_host ${CMAKE_CURRENT_LIST_DIR}/loader_host.c)
target_link_libraries(loader_host PRIVATE ${CMAKE_DL_LIBS})
set_target_properties(loader_plugin loader_empty loader_host PROPERTIES
  LIBRARY_OUTPUT_DIRECTORY ${loader_dir} RUNTIME_OUTPUT_DIRECTORY ${loader_dir}
  BUILD_RPATH ${loader_dir} SKIP_BUILD_RPATH OFF)
# A real DT_RUNPATH (not DT_RPATH), as modern toolchains write it.
target_link_options(loader_host PRIVATE -Wl,--enable-new-dtags)
add_dependencies(loader_host loader_empty loader_plugin)
mcm_shell_test(loader ${CMAKE_CURRENT_LIST_DIR}/test_loader.sh integration)
