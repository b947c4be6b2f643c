# Tests of protected servers: TLS (memcached -Z) and authentication (-Y text tokens, -S SASL) for
# replay, verify, import and follow, and the shim's SASL mark; an independent Python client checks.
add_executable(protect_client ${CMAKE_CURRENT_LIST_DIR}/protect_client.c)
target_link_libraries(protect_client PRIVATE PkgConfig::LIBMEMCACHED)
set_target_properties(protect_client PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
mcm_shell_test(protect_tls ${CMAKE_CURRENT_LIST_DIR}/test_protect_tls.sh integration)
mcm_shell_test(protect_auth ${CMAKE_CURRENT_LIST_DIR}/test_protect_auth.sh integration)
mcm_shell_test(protect_sasl ${CMAKE_CURRENT_LIST_DIR}/test_protect_sasl.sh integration)
