# Packaging.cmake - where `cmake --install` puts mcmirror, and the Debian package CPack builds from it.
#
#   bin/mcmirror                          the tool
#   lib[/<multiarch>]/libmcmirror.so      the preload library (GNUInstallDirs' LIBDIR)
#   libexec/mcmirror/mcmirror-demo-app    the demo application (examples/demo_app.c; a program,
#                                         so not under share/)
#   libexec/mcmirror/mcmirror-warm        waits for memcached, then replays (examples/systemd)
#   share/man/man1/mcmirror.1, share/man/man7/libmcmirror.7
#   share/doc/mcmirror/                   README.md, docs/*.md, examples/systemd, examples/php-sessions
#
# `mcmirror run` looks for libmcmirror.so next to itself first (MCM_REL_LIBDIR, from the bin to the
# lib directory, so an install moved to another prefix still works), then in the build tree, then in
# the compiled-in MCM_LIBDIR.
#
# The package: from the build directory, `cpack -G DEB` writes mcmirror_<version>_<arch>.deb.
# Configure with -DCMAKE_INSTALL_PREFIX=/usr for a package (the .deb installs under /usr either way;
# with /usr the compiled-in paths match too). It ships no /var/lib/mcmirror: the mirror belongs to the
# user of the service the shim runs in, so the operator creates it (docs/RUNBOOK.md, "Installing").

# --- mcmirror run: where the library is -----------------------------------------------------------
file(RELATIVE_PATH MCM_REL_LIBDIR "${CMAKE_INSTALL_FULL_BINDIR}" "${CMAKE_INSTALL_FULL_LIBDIR}")
set_source_files_properties("${CMAKE_SOURCE_DIR}/tools/cmd_run.c" DIRECTORY "${CMAKE_SOURCE_DIR}/tools" PROPERTIES
  COMPILE_DEFINITIONS "MCM_LIBDIR=\"${CMAKE_INSTALL_FULL_LIBDIR}\";MCM_REL_LIBDIR=\"${MCM_REL_LIBDIR}\"")

# --- documentation, examples, the demo ------------------------------------------------------------
install(FILES docs/mcmirror.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES docs/libmcmirror.7 DESTINATION ${CMAKE_INSTALL_MANDIR}/man7)
install(FILES README.md docs/ARCHITECTURE.md docs/DURABILITY.md docs/FORMAT.md docs/RUNBOOK.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY examples/systemd examples/php-sessions DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
  PATTERN mcmirror-warm EXCLUDE)
install(PROGRAMS examples/systemd/mcmirror-warm DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/mcmirror)
install(TARGETS mcmirror-demo-app RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/mcmirror)

# --- the Debian package ---------------------------------------------------------------------------
set(CPACK_PACKAGE_NAME mcmirror)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "mcmirror")
set(CPACK_PACKAGE_CONTACT "mcmirror maintainers <mcmirror@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "crash-safe local mirror of memcached writes, and warm-up after a restart")
set(CPACK_PACKAGE_DESCRIPTION "libmcmirror.so is preloaded (LD_PRELOAD) into unmodified programs that use
libmemcached (PHP's memcached extension and its session handler, pylibmc, libmemcached's tools...) and
mirrors what their writes leave on the servers into a local LMDB database. After memcached crashes or
restarts, `mcmirror replay` writes it back, oldest first, without overwriting newer values.
`mcmirror run` starts a program with the library preloaded.")
set(CPACK_PACKAGE_HOMEPAGE_URL "https://localhost/mcmirror")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # <name>_<version>-<release>_<arch>.deb; no release set: name_version_arch
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "memcached")
find_program(MCM_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(MCM_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON) # libc6, libmemcached11, liblmdb0 with their versions
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.34), libmemcached11 (>= 1.1.4), liblmdb0 (>= 0.9.24)")
endif()
set(CPACK_GENERATOR DEB)
include(CPack)
