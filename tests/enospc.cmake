# A preloadable write() that fills a folder up (tests/enospc/full_disk.c),
# for the CLI's full-file-system cases in tests/cli/write_errors.sh: they
# then run everywhere, with no tmpfs mount (which containers refuse).
add_library(ravine_full_disk SHARED ${CMAKE_CURRENT_SOURCE_DIR}/enospc/full_disk.c)
set_property(TEST cli_write_errors APPEND PROPERTY ENVIRONMENT
             "RAVINE_FULL_DISK=$<TARGET_FILE:ravine_full_disk>")
