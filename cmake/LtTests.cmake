# C tests (no LispE needed), LispE script tests (when LispE is configured).
file(GLOB LT_C_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/tests/c/test_*.c)
foreach(src ${LT_C_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src} ${CMAKE_CURRENT_SOURCE_DIR}/tests/c/lt_test.c)
  target_include_directories(${name} PRIVATE include src tests/c ${LT_DEP_INCLUDE_DIRS})
  target_link_libraries(${name} PRIVATE lispe_torch ${LT_DEP_LIBRARIES} Threads::Threads m)
  # each test runs in a scratch directory of its own: files it writes stay there
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/test-work/${name})
  add_test(NAME c_${name} COMMAND ${name} WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/test-work/${name})
  set_tests_properties(c_${name} PROPERTIES
    ENVIRONMENT "LT_SHARED_DATA=${LT_SHARED_DATA};LT_SOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}"
    SKIP_RETURN_CODE 77 TIMEOUT 600)
endforeach()

# docs/API.md must be what the table generates
add_test(NAME api_doc_fresh
  COMMAND ${CMAKE_COMMAND} -DGEN=$<TARGET_FILE:lt_api_doc> -DDOC=${CMAKE_CURRENT_SOURCE_DIR}/docs/API.md
          -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/CheckApiDoc.cmake)

if(LISPE_DIR)
  file(GLOB LT_LISP_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/tests/lisp/*.lisp)
  file(GLOB LT_LISP_EXAMPLES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/examples/*.lisp)
  foreach(script ${LT_LISP_TESTS} ${LT_LISP_EXAMPLES})
    get_filename_component(name ${script} NAME_WE)
    get_filename_component(dir ${script} DIRECTORY)
    get_filename_component(dirname ${dir} NAME)
    add_test(NAME lisp_${dirname}_${name} COMMAND ${LISPE_EXECUTABLE} ${script}
             WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
    set_tests_properties(lisp_${dirname}_${name} PROPERTIES
      ENVIRONMENT "LISPEPATH=${CMAKE_CURRENT_BINARY_DIR};LT_SHARED_DATA=${LT_SHARED_DATA};LT_SOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}"
      FAIL_REGULAR_EXPRESSION "FAIL|Error|error:"
      PASS_REGULAR_EXPRESSION "ALL PASSED|example done"
      TIMEOUT 600)
  endforeach()
else()
  add_test(NAME lisp_tests COMMAND sh -c "echo 'skipped: no LispE (configure with -DLISPE_DIR=...)'; exit 77")
  set_tests_properties(lisp_tests PROPERTIES SKIP_RETURN_CODE 77)
endif()

# Benchmarks: not part of `all`; tests/bench/run_bench.sh builds and runs them.
# A benchmark through the library (C) or plain libtorch (the C++ floor).
function(lt_bench_c name)
  add_executable(${name} EXCLUDE_FROM_ALL tests/bench/${name}.c)
  target_include_directories(${name} PRIVATE include ${LT_DEP_INCLUDE_DIRS})
  target_link_libraries(${name} PRIVATE lispe_torch ${LT_DEP_LIBRARIES})
endfunction()
function(lt_bench_cpp name)
  add_executable(${name} EXCLUDE_FROM_ALL tests/bench/${name}.cpp)
  target_include_directories(${name} PRIVATE ${TORCH_INCLUDE_DIRS})
  target_compile_options(${name} PRIVATE ${LT_TORCH_FLAGS})
  target_link_libraries(${name} PRIVATE ${TORCH_LIBRARIES})
  if(Torch_VERSION VERSION_GREATER_EQUAL 2.0)
    set_property(TARGET ${name} PROPERTY CXX_STANDARD 20)
  endif()
endfunction()
lt_bench_c(bench_overhead)
lt_bench_cpp(bench_overhead_cpp)
lt_bench_c(bench_tiktoken)
lt_bench_c(bench_training)
lt_bench_cpp(bench_training_cpp)
# attention_memory replaces malloc to count bytes: never under LT_ASAN
if(NOT LT_ASAN)
  add_executable(attention_memory EXCLUDE_FROM_ALL tests/bench/attention_memory.c)
  target_include_directories(attention_memory PRIVATE include)
  target_link_libraries(attention_memory PRIVATE lispe_torch m)
endif()
