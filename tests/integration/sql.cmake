# Tests of the external stores (PostgreSQL, MariaDB) against real servers the harness starts
# (tests/harness/sql.sh): follow --to, replay/import --from, faults.
if(TARGET mcm_sql)
  # sql_follow: drives a sink the way `mcmirror follow` does (a test driver).
  add_executable(sql_follow ${CMAKE_CURRENT_LIST_DIR}/sql_follow.c ${CMAKE_SOURCE_DIR}/tools/cli.c
    ${CMAKE_SOURCE_DIR}/tools/dumpfmt.c)
  target_link_libraries(sql_follow PRIVATE mcm_sql mcm_store)
  set_target_properties(sql_follow PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
endif()
if(TARGET mcm_sql)
  add_executable(sql_fill ${CMAKE_CURRENT_LIST_DIR}/sql_fill.c)
  target_link_libraries(sql_fill PRIVATE mcm_store)
  add_executable(sql_writer ${CMAKE_CURRENT_LIST_DIR}/sql_writer.c)
  target_link_libraries(sql_writer PRIVATE PkgConfig::LIBMEMCACHED)
  add_executable(sql_mcstate ${CMAKE_CURRENT_LIST_DIR}/sql_mcstate.c)
  set_target_properties(sql_fill sql_writer sql_mcstate PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  # each test runs once per backend: pg (PostgreSQL) and my (MariaDB)
  foreach(db pg my)
    if((db STREQUAL "pg" AND LIBPQ_FOUND) OR (db STREQUAL "my" AND LIBMARIADB_FOUND))
      foreach(t ship errors hosts faults)
        add_test(NAME sql_${t}_${db} COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_sql_${t}.sh ${db})
        set_tests_properties(sql_${t}_${db} PROPERTIES LABELS "integration;sql" SKIP_RETURN_CODE 77 TIMEOUT 300
          ENVIRONMENT "MCM_SHIM=$<TARGET_FILE:mcmirror_shim>;MCM_TOOL=$<TARGET_FILE:mcmirror>;MCM_BIN=${CMAKE_BINARY_DIR}/tests;MCM_HARNESS=${CMAKE_SOURCE_DIR}/tests/harness")
      endforeach()
    endif()
  endforeach()
endif()
