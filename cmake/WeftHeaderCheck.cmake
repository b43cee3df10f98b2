# weft_check_headers(MODULES ...): proves every public header is self-contained. One generated
# translation unit per header under <module>/include/weft/ includes that header alone (twice, so a
# missing include guard fails too); they build as the object library weft_header_check, part of the
# normal build, so a header that leans on what its includer happened to include first breaks the
# build instead of a user's.
function(weft_check_headers)
  cmake_parse_arguments(H "" "" "MODULES" ${ARGN})
  set(sources "")
  foreach(module IN LISTS H_MODULES)
    file(GLOB_RECURSE headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${module}/include/weft/*.hpp)
    foreach(header IN LISTS headers)
      file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR}/${module}/include ${header})
      string(MAKE_C_IDENTIFIER "${rel}" id)
      set(tu ${CMAKE_BINARY_DIR}/header_check/${id}.cpp)
      file(CONFIGURE OUTPUT ${tu} CONTENT "#include <${rel}>\n#include <${rel}>\n")
      list(APPEND sources ${tu})
    endforeach()
  endforeach()
  add_library(weft_header_check OBJECT ${sources})
  target_link_libraries(weft_header_check PRIVATE weft::weft)
  target_compile_options(weft_header_check PRIVATE -Wall -Wextra -Wpedantic)
endfunction()
