# The GPT example's unit test uses the example's matrix products (OpenBLAS
# when found) and the examples' compile options.
if(TARGET test_gpt)
  target_link_libraries(test_gpt PRIVATE ravine_gpt_blas)
  target_compile_options(test_gpt PRIVATE -fno-trapping-math)
endif()
if(TEST test_gpt)
  # Idle OpenMP threads sleep (the program sets the same for itself): with
  # tiny parallel regions, spinning threads only slow a shared machine down.
  set_tests_properties(test_gpt PROPERTIES
    ENVIRONMENT "OMP_WAIT_POLICY=passive;RAVINE_FIXTURES=${CMAKE_CURRENT_SOURCE_DIR}/fixtures;RAVINE=$<TARGET_FILE:ravine>")
endif()
