# The CLI as a machine without MPI builds it: the --shard commands are left
# out and say so. When MPI is found, a second CLI (ravine_nompi) is compiled
# from the same sources without it, with the same warnings as errors, so
# code that only that build sees cannot break `make` there unnoticed; when
# MPI is not found, the CLI under test is already that build.
if(MPI_C_FOUND)
  add_executable(ravine_nompi ${RAVINE_TOOL_SOURCES})
  target_include_directories(ravine_nompi PRIVATE ${PROJECT_SOURCE_DIR}/tools ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(ravine_nompi PRIVATE ravine_static)
  set(RAVINE_NOMPI_CLI $<TARGET_FILE:ravine_nompi>)
else()
  set(RAVINE_NOMPI_CLI $<TARGET_FILE:ravine>)
endif()
add_test(NAME nompi_cli COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/nompi/no_mpi.sh)
set_tests_properties(nompi_cli PROPERTIES ENVIRONMENT "RAVINE=${RAVINE_NOMPI_CLI}"
                     WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
