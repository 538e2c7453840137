# Allocation failures injected into the library: each tests/nomem/*.c is
# linked with malloc, calloc, realloc, aligned_alloc and strdup wrapped
# (ld --wrap, see tests/nomem/failing_alloc.h), so it can make the k-th
# allocation of a call fail, for every k, and check what the call did.
file(GLOB RAVINE_NOMEM_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/nomem/*.c)
foreach(src ${RAVINE_NOMEM_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(nomem_${name} ${src})
  target_include_directories(nomem_${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(nomem_${name} PRIVATE ravine_static)
  target_link_options(nomem_${name} PRIVATE
    -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc,--wrap=strdup)
  add_test(NAME nomem_${name} COMMAND nomem_${name})
  set_tests_properties(nomem_${name} PROPERTIES WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
endforeach()
