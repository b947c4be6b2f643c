# Tests of `mcmirror run`, the manual pages, and the installation (cmake --install, the Debian package).
# test_install.sh installs into a temporary prefix; under CI=true or MCM_TEST_INSTALL=1 it also builds
# the .deb with cpack and installs it into this machine with dpkg (label install).
mcm_shell_test(run ${CMAKE_CURRENT_LIST_DIR}/test_run.sh integration)
mcm_shell_test(install_man ${CMAKE_CURRENT_LIST_DIR}/test_install_man.sh install)
mcm_shell_test(install ${CMAKE_CURRENT_LIST_DIR}/test_install.sh install)
set_property(TEST install_man install APPEND PROPERTY ENVIRONMENT
  "MCM_SOURCE_DIR=${CMAKE_SOURCE_DIR};MCM_BUILD_DIR=${CMAKE_BINARY_DIR};MCM_SANITIZE=$<BOOL:${MCM_SANITIZE}>")
