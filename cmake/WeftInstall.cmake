# Install rules and package files for `cmake --install build --prefix P`:
#   P/lib/libweft_<module>.a               every module target that has sources (export set weftTargets)
#   P/include/weft/...                     every module's include/ tree, plus <weft/weft.hpp>
#   P/lib/cmake/weft/weft-config.cmake     find_package(weft CONFIG): targets weft::weft, weft::<module>
#   P/lib/pkgconfig/weft.pc                pkg-config --cflags --libs weft
# Included by the top CMakeLists.txt after every module and the weft INTERFACE target exist.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

get_property(weft_modules GLOBAL PROPERTY WEFT_MODULES)
set(WEFT_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/weft"
    CACHE STRING "Where weft-config.cmake is installed, relative to the prefix")

# A sanitizer build needs the sanitizer runtime at the consumer's link too.
set(weft_sanitize_flags "")
if(WEFT_SANITIZE STREQUAL "address")
  set(weft_sanitize_flags "-fsanitize=address,undefined")
elseif(WEFT_SANITIZE STREQUAL "thread")
  set(weft_sanitize_flags "-fsanitize=thread")
endif()
if(weft_sanitize_flags)
  foreach(target IN LISTS weft_modules ITEMS weft)
    target_link_options(${target} INTERFACE "$<INSTALL_INTERFACE:${weft_sanitize_flags}>")
  endforeach()
endif()

install(TARGETS ${weft_modules} weft
  EXPORT weftTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Headers: <module>/include/ is installed as is, so <weft/<module>/x.hpp> and <weft/weft.hpp> keep
# the paths they have in the source tree (the targets say $<INSTALL_INTERFACE:include>).
foreach(module IN LISTS weft_modules)
  get_target_property(module_dir ${module} SOURCE_DIR)
  if(IS_DIRECTORY "${module_dir}/include")
    install(DIRECTORY "${module_dir}/include/" DESTINATION include
      FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h" PATTERN "*.ipp" PATTERN "*.inl")
  endif()
endforeach()

install(EXPORT weftTargets
  NAMESPACE weft::
  FILE weftTargets.cmake
  DESTINATION ${WEFT_INSTALL_CMAKEDIR})

# weft-config.cmake finds again what the exported targets name: Threads::Threads, Boost::context,
# TBB::tbb, PkgConfig::LIBURING, and tl::expected when this compiler had no std::expected.
if(WEFT_HAVE_STD_EXPECTED)
  set(WEFT_CONFIG_NEEDS_TL_EXPECTED OFF)
else()
  set(WEFT_CONFIG_NEEDS_TL_EXPECTED ON)
endif()
set(WEFT_CONFIG_MODULES "")
foreach(module IN LISTS weft_modules)
  string(REGEX REPLACE "^weft_" "" short ${module})
  list(APPEND WEFT_CONFIG_MODULES ${short})
endforeach()
configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/weft-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/weft-config.cmake
  INSTALL_DESTINATION ${WEFT_INSTALL_CMAKEDIR})
# 0.x: a minor version may break the API, so only the same minor version is compatible.
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/weft-config-version.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/weft-config.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/weft-config-version.cmake
  DESTINATION ${WEFT_INSTALL_CMAKEDIR})

# weft.pc. Libs names the module libraries that exist (a module without sources is header-only) in
# link order runtime channels sync io sched, then the system libraries. The modules are static by
# default, so a plain `pkg-config --libs weft` must already carry their dependencies: liburing goes
# to Requires (pkg-config drops Requires.private without --static) and the system libraries to Libs.
# A shared build moves both to the .private fields.
set(weft_pc_libs "")
set(weft_pc_static FALSE)
foreach(short IN ITEMS runtime channels sync io sched)
  if(TARGET weft_${short})
    get_target_property(module_type weft_${short} TYPE)
    if(module_type STREQUAL "STATIC_LIBRARY" OR module_type STREQUAL "SHARED_LIBRARY")
      string(APPEND weft_pc_libs " -l$<TARGET_FILE_BASE_NAME:weft_${short}>")
    endif()
    if(module_type STREQUAL "STATIC_LIBRARY")
      set(weft_pc_static TRUE)
    endif()
  endif()
endforeach()
set(weft_pc_system_libs "-lboost_context -ltbb -pthread")
if(weft_sanitize_flags)
  string(PREPEND weft_pc_system_libs "${weft_sanitize_flags} ")
endif()
if(weft_pc_static)
  set(WEFT_PC_REQUIRES "Requires: liburing")
  set(WEFT_PC_LIBS "${weft_pc_libs} ${weft_pc_system_libs}")
  set(WEFT_PC_LIBS_PRIVATE "")
else()
  set(WEFT_PC_REQUIRES "Requires.private: liburing")
  set(WEFT_PC_LIBS "${weft_pc_libs}")
  set(WEFT_PC_LIBS_PRIVATE "${weft_pc_system_libs}")
endif()
# The prefix is found from the .pc file's own place, so `cmake --install --prefix P` relocates it.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(WEFT_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(WEFT_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  file(RELATIVE_PATH weft_pc_up "/weft-prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/weft-prefix")
  string(REGEX REPLACE "/$" "" weft_pc_up "${weft_pc_up}")
  set(WEFT_PC_PREFIX "\${pcfiledir}/${weft_pc_up}")
  set(WEFT_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/weft.pc.in ${CMAKE_CURRENT_BINARY_DIR}/weft.pc.gen @ONLY)
file(GENERATE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/weft.pc
  INPUT ${CMAKE_CURRENT_BINARY_DIR}/weft.pc.gen)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/weft.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
