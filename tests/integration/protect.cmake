# Tests of protected servers: TLS (memcached -Z) and authentication (-Y text tokens, -S SASL) for
# replay, verify, import and follow, and the shim's SASL mark; an independent Python client checks.
mcm_shell_test(protect_tls ${CMAKE_CURRENT_LIST_DIR}/test_protect_tls.sh integration)
