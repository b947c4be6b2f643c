# Tests of the external stores (PostgreSQL, MariaDB) against real servers the harness starts
# (tests/harness/sql.sh): follow --to, replay/import --from, faults.
if(TARGET mcm_sql)
  # sql_follow: drives a sink the way `mcmirror follow` does (a test driver).
  add_executable(sql_follow ${CMAKE_CURRENT_LIST_DIR}/sql_follow.c ${CMAKE_SOURCE_DIR}/tools/cli.c
    ${CMAKE_SOURCE_DIR}/tools/dumpfmt.c)
  target_link_libraries(sql_follow PRIVATE mcm_sql mcm_store)
  set_target_properties(sql_follow PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
endif()
