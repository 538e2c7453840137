# Fuzz targets (fuzz/fuzz_*.c): libFuzzer + AddressSanitizer + UBSan builds
# of the spec parser, the checkpoint loader and the CLI's CSV readers, each
# run for a bounded time by CTest (label "fuzz"; `ctest -LE fuzz` leaves
# them out). Seeds live in fuzz/corpus/<target>/; new inputs the fuzzer
# finds go to the build folder, never into the source tree.
#
# The targets are compiled with clang directly (whatever compiler builds
# the rest), on first use by the fuzz_build test, so a plain `make` stays
# fast. Without clang or its libFuzzer runtime (libclang-rt-14-dev) they
# are left out; in the sanitizer build too, since they carry ASan and UBSan
# themselves.

set(RAVINE_FUZZ_SECONDS 20 CACHE STRING "Seconds each fuzz target runs under CTest")

if(RAVINE_SANITIZE)
  return()
endif()
find_program(RAVINE_FUZZ_CLANG NAMES clang clang-14)
if(NOT RAVINE_FUZZ_CLANG)
  message(STATUS "fuzz: clang not found; fuzz tests skipped")
  return()
endif()
set(fuzz_dir ${CMAKE_CURRENT_BINARY_DIR}/fuzz)
file(MAKE_DIRECTORY ${fuzz_dir}/obj)
file(WRITE ${fuzz_dir}/probe.c
  "#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\n"
  "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n")
execute_process(COMMAND ${RAVINE_FUZZ_CLANG} -fsanitize=fuzzer,address,undefined ${fuzz_dir}/probe.c
                        -o ${fuzz_dir}/probe
                RESULT_VARIABLE fuzz_probe_rc OUTPUT_QUIET ERROR_QUIET)
if(NOT fuzz_probe_rc EQUAL 0)
  message(STATUS "fuzz: ${RAVINE_FUZZ_CLANG} cannot link libFuzzer (libclang-rt-14-dev); fuzz tests skipped")
  return()
endif()

set(fuzz_flags -std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 -fno-omit-frame-pointer
    -fno-math-errno -fno-trapping-math -ffp-contract=off -Wall -Wextra -Wno-unknown-pragmas
    -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
    -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    -I${PROJECT_SOURCE_DIR}/include -I${PROJECT_SOURCE_DIR}/src -I${PROJECT_SOURCE_DIR}/tools)
set(fuzz_libs -lm)

# one object per library source (names qualified by folder: two registry.c exist)
file(GLOB fuzz_lib_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/*/*.c)
list(FILTER fuzz_lib_sources EXCLUDE REGEX "/src/dist/")   # the MPI layer
file(GLOB fuzz_lib_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/*/*.h ${PROJECT_SOURCE_DIR}/include/ravine/*.h)
set(fuzz_lib_objects "")
foreach(src ${fuzz_lib_sources})
  get_filename_component(name ${src} NAME_WE)
  get_filename_component(dir ${src} DIRECTORY)
  get_filename_component(dir ${dir} NAME)
  set(obj ${fuzz_dir}/obj/${dir}_${name}.o)
  add_custom_command(OUTPUT ${obj}
    COMMAND ${RAVINE_FUZZ_CLANG} ${fuzz_flags} -c ${src} -o ${obj}
    DEPENDS ${src} ${fuzz_lib_headers} VERBATIM)
  list(APPEND fuzz_lib_objects ${obj})
endforeach()

# the CLI's readers, with exit(2) turned into a jump back (fuzz/csv_shim.h)
set(fuzz_cli_objects "")
foreach(name cli cmd_diagnose)
  set(obj ${fuzz_dir}/obj/tools_${name}.o)
  add_custom_command(OUTPUT ${obj}
    COMMAND ${RAVINE_FUZZ_CLANG} ${fuzz_flags} -include ${PROJECT_SOURCE_DIR}/fuzz/csv_shim.h
            -c ${PROJECT_SOURCE_DIR}/tools/${name}.c -o ${obj}
    DEPENDS ${PROJECT_SOURCE_DIR}/tools/${name}.c ${PROJECT_SOURCE_DIR}/tools/cli.h
            ${PROJECT_SOURCE_DIR}/fuzz/csv_shim.h ${fuzz_lib_headers} VERBATIM)
  list(APPEND fuzz_cli_objects ${obj})
endforeach()

set(fuzz_binaries "")
foreach(target spec checkpoint csv)
  set(extra "")
  if(target STREQUAL "csv")
    set(extra ${fuzz_cli_objects})
  endif()
  set(bin ${fuzz_dir}/fuzz_${target})
  add_custom_command(OUTPUT ${bin}
    COMMAND ${RAVINE_FUZZ_CLANG} ${fuzz_flags} -fsanitize=fuzzer
            ${PROJECT_SOURCE_DIR}/fuzz/fuzz_${target}.c ${extra} ${fuzz_lib_objects} ${fuzz_libs} -o ${bin}
    DEPENDS ${PROJECT_SOURCE_DIR}/fuzz/fuzz_${target}.c ${extra} ${fuzz_lib_objects} VERBATIM)
  list(APPEND fuzz_binaries ${bin})
endforeach()
add_custom_target(ravine_fuzzers DEPENDS ${fuzz_binaries})

add_test(NAME fuzz_build COMMAND ${CMAKE_COMMAND} --build ${PROJECT_BINARY_DIR} --target ravine_fuzzers --parallel 2)
set_tests_properties(fuzz_build PROPERTIES FIXTURES_SETUP ravine_fuzzers LABELS "fuzz;nosan" TIMEOUT 600)

# long inputs everywhere: specs and expr() formulas of thousands of bytes
foreach(target spec checkpoint csv)
  set(max_len 8192)
  file(MAKE_DIRECTORY ${fuzz_dir}/corpus_${target})
  add_test(NAME fuzz_${target}
    COMMAND ${fuzz_dir}/fuzz_${target} -max_total_time=${RAVINE_FUZZ_SECONDS} -max_len=${max_len}
            -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=${fuzz_dir}/crash_${target}_
            ${fuzz_dir}/corpus_${target} ${PROJECT_SOURCE_DIR}/fuzz/corpus/${target})
  set_tests_properties(fuzz_${target} PROPERTIES
    FIXTURES_REQUIRED ravine_fuzzers LABELS "fuzz;nosan"
    TIMEOUT 300
    ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endforeach()
# the readers' messages stay in the target's memory: one leaking to the
# output (a rejected input printed, millions of times over) fails the test
set_tests_properties(fuzz_csv PROPERTIES FAIL_REGULAR_EXPRESSION "ravine: ")
