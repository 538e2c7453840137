# The sharded optimizer (ravine/dist.h) under mpirun with 1 to 4 ranks, and
# the CLI's --shard commands. Registered only when MPI is found. Every test
# has a TIMEOUT and the label `mpi`. Under `make sanitize` they run with
# AddressSanitizer and UBSan but without LeakSanitizer (ASAN_OPTIONS below):
# Open MPI leaks by design at MPI_Finalize (allocations of its plugins, which
# are unloaded by then, so no suppression can name them); ravine's own code
# has no leak there. The charlm run is left out of the sanitizer build (nosan:
# minutes under ASan).
if(NOT MPI_C_FOUND)
  return()
endif()

find_program(RAVINE_MPIRUN NAMES ${MPIEXEC_EXECUTABLE} mpirun mpiexec)
if(NOT RAVINE_MPIRUN)
  message(STATUS "dist: no mpirun found; the MPI tests are left out")
  return()
endif()
# Open MPI runs more ranks than cores only when asked to
execute_process(COMMAND ${RAVINE_MPIRUN} --version OUTPUT_VARIABLE mpirun_version ERROR_QUIET)
set(RAVINE_MPIRUN_FLAGS "")
if(mpirun_version MATCHES "Open MPI|OpenRTE")
  set(RAVINE_MPIRUN_FLAGS --oversubscribe)
endif()
# as root, Open MPI wants both variables (CI containers run as root);
# containers often forbid the cross-process memory reads (CMA) of Open MPI's
# shared-memory transport, so the tests use its copy-in/copy-out path
set(RAVINE_MPI_ENV "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1;OMPI_MCA_btl_vader_single_copy_mechanism=none;ASAN_OPTIONS=detect_leaks=0")

add_executable(test_dist ${CMAKE_CURRENT_SOURCE_DIR}/dist/test_dist.c)
target_include_directories(test_dist PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(test_dist PRIVATE ravine_dist_static)

add_executable(test_dist_save_crash ${CMAKE_CURRENT_SOURCE_DIR}/dist/save_crash.c)
target_include_directories(test_dist_save_crash PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(test_dist_save_crash PRIVATE ravine_dist_static)

foreach(np 1 2 3 4)
  add_test(NAME dist_np${np}
           COMMAND ${RAVINE_MPIRUN} ${RAVINE_MPIRUN_FLAGS} -np ${np} $<TARGET_FILE:test_dist>)
  set_tests_properties(dist_np${np} PROPERTIES TIMEOUT 180 LABELS mpi
                       ENVIRONMENT "${RAVINE_MPI_ENV};OMP_NUM_THREADS=1")
endforeach()

# Allocation failures on one rank (tests/nomem's wrapped allocator): every
# rank returns the same error, nothing changes, and nothing hangs (a hang
# runs into the TIMEOUT).
add_executable(test_dist_nomem ${CMAKE_CURRENT_SOURCE_DIR}/dist/nomem_dist.c)
target_include_directories(test_dist_nomem PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(test_dist_nomem PRIVATE ravine_dist_static)
target_link_options(test_dist_nomem PRIVATE
  -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc,--wrap=strdup)
foreach(np 2 3)
  add_test(NAME dist_nomem_np${np}
           COMMAND ${RAVINE_MPIRUN} ${RAVINE_MPIRUN_FLAGS} -np ${np} $<TARGET_FILE:test_dist_nomem>)
  set_tests_properties(dist_nomem_np${np} PROPERTIES TIMEOUT 300 LABELS mpi
                       ENVIRONMENT "${RAVINE_MPI_ENV};OMP_NUM_THREADS=1")
endforeach()

# The CLI under mpirun: tests/dist/*.sh, with the cli tests' helpers.
string(REPLACE ";" " " RAVINE_MPIRUN_LINE "${RAVINE_MPIRUN};${RAVINE_MPIRUN_FLAGS}")
file(GLOB RAVINE_DIST_CLI_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/dist/*.sh)
foreach(script ${RAVINE_DIST_CLI_TESTS})
  get_filename_component(name ${script} NAME_WE)
  add_test(NAME dist_${name} COMMAND bash ${script})
  set(labels mpi)
  if(name STREQUAL "charlm_parallel")
    set(labels "mpi;nosan")
  endif()
  set_tests_properties(dist_${name} PROPERTIES TIMEOUT 600 LABELS "${labels}"
    ENVIRONMENT "${RAVINE_MPI_ENV};OMP_NUM_THREADS=1;RAVINE=$<TARGET_FILE:ravine>;RAVINE_SAVE_CRASH=$<TARGET_FILE:test_dist_save_crash>;RAVINE_MPIRUN=${RAVINE_MPIRUN_LINE};RAVINE_SOURCE=${PROJECT_SOURCE_DIR};RAVINE_BUILD=${PROJECT_BINARY_DIR}"
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
endforeach()
