# WEFT_SANITIZE=address builds everything with ASan+UBSan, WEFT_SANITIZE=thread with TSan. The
# fiber switch is annotated in sched/src/fiber_switch.cpp for both, keyed on the macros below.
if(WEFT_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  add_compile_definitions(WEFT_ASAN=1)
elseif(WEFT_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  add_compile_definitions(WEFT_TSAN=1)
elseif(NOT WEFT_SANITIZE STREQUAL "")
  message(FATAL_ERROR "WEFT_SANITIZE must be empty, 'address' or 'thread', not '${WEFT_SANITIZE}'")
endif()
