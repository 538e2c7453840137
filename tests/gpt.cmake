# The GPT example's unit test uses the example's matrix products (OpenBLAS
# when found) and the examples' compile options.
if(TARGET test_gpt)
  target_link_libraries(test_gpt PRIVATE ravine_gpt_blas)
  target_compile_options(test_gpt PRIVATE -fno-trapping-math)
endif()
