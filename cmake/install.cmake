# Installs the library, its headers under include/ctdl/ and a CMake package, so that a
# user's project can do find_package(ctdl) and link ctdl::ctdl.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

foreach(dir tensor autograd backends backends/cpu backends/cuda ode nn distributed)
  install(DIRECTORY ${CMAKE_SOURCE_DIR}/${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ctdl/${dir}
          FILES_MATCHING PATTERN "*.h" PATTERN "CMakeLists.txt" EXCLUDE
          # The lab's internal report header includes nlohmann-json, not a dependency of
          # installed ctdl.
          REGEX "ode/lab/report\\.h$" EXCLUDE
          # The CUDA backend's internal header includes the CUDA toolkit's.
          REGEX "backends/cuda/runtime\\.h$" EXCLUDE)
endforeach()
install(FILES ${CMAKE_SOURCE_DIR}/ctdl.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ctdl)

install(TARGETS ctdl EXPORT ctdlTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT ctdlTargets NAMESPACE ctdl:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ctdl)
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/ctdlConfig.cmake.in
  ${CMAKE_BINARY_DIR}/ctdlConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ctdl)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/ctdlConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/ctdlConfig.cmake ${CMAKE_BINARY_DIR}/ctdlConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ctdl)
