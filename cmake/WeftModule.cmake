# weft_add_module(NAME [SOURCES ...] [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# Declares target weft_<NAME> with alias weft::<NAME>, exported as weft::<NAME>. Public headers live in
# <NAME>/include/weft/<NAME>/, private code in <NAME>/src/. A module without sources is an INTERFACE
# target so the dependency arrows exist before the code does.
function(weft_add_module name)
  cmake_parse_arguments(M "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  set(target weft_${name})
  if(M_SOURCES)
    add_library(${target} ${M_SOURCES})
    target_include_directories(${target}
      PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:include>
      PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
    # A private dep that is an un-namespaced, imported, header-only target (weft_concurrentqueue)
    # is a build-time helper the export set cannot name, yet a static library lists its private
    # deps in the exported interface as $<LINK_ONLY:...>: keep it out with $<BUILD_INTERFACE:...>.
    # Everything else (Boost::context, TBB::tbb, PkgConfig::LIBURING, weft::*) is exported as is
    # and weft-config.cmake finds it again.
    set(private_deps "")
    foreach(dep IN LISTS M_PRIVATE_DEPS)
      set(build_only FALSE)
      if(TARGET ${dep} AND NOT dep MATCHES "::")
        get_target_property(dep_imported ${dep} IMPORTED)
        get_target_property(dep_type ${dep} TYPE)
        if(dep_imported AND dep_type STREQUAL "INTERFACE_LIBRARY")
          set(build_only TRUE)
        endif()
      endif()
      if(build_only)
        list(APPEND private_deps "$<BUILD_INTERFACE:${dep}>")
      else()
        list(APPEND private_deps "${dep}")
      endif()
    endforeach()
    target_link_libraries(${target} PUBLIC ${M_PUBLIC_DEPS} PRIVATE ${private_deps})
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target}
      INTERFACE $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:include>)
    target_link_libraries(${target} INTERFACE ${M_PUBLIC_DEPS})
  endif()
  # The public headers are C++23: the exported targets carry the standard to consumers.
  target_compile_features(${target} INTERFACE cxx_std_23)
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  add_library(weft::${name} ALIAS ${target})
  set_property(GLOBAL APPEND PROPERTY WEFT_MODULES ${target})
endfunction()
