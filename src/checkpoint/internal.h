/* Internal: pieces shared by checkpoint saving and loading, and the seams
   tests and fuzz targets use (never part of the public API). */
#ifndef RAVINE_CHECKPOINT_INTERNAL_H
#define RAVINE_CHECKPOINT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "ravine/checkpoint.h"
#include "ravine/optim.h"

/* File format version written by this build; files with a larger number are
   refused with RV_ERR_VERSION. */
#define RV_CHECKPOINT_VERSION 1
/* The same bound the safetensors library uses for the JSON header. */
#define RV_CHECKPOINT_HEADER_LIMIT 100000000ull
#define RV_CHECKPOINT_FORMAT "ravine.checkpoint"

/* CRC-32 (IEEE 802.3, reflected, as zlib.crc32): start with crc = 0. */
uint32_t rv_crc32(uint32_t crc, const void *data, size_t n);

/* Every write of a checkpoint goes through this pointer (default: POSIX
   write). Tests replace it to inject failures part-way through a save. */
extern ssize_t (*rv_checkpoint_write_fn)(int fd, const void *buf, size_t n);
/* ... and every fsync (default: POSIX fsync); tests that save hundreds of
   files skip the wait for the disk. */
extern int (*rv_checkpoint_fsync_fn)(int fd);

/* The key a tensor is stored under: its name when it has one, else
   "tensor<index>". Returns a malloc'd string (NULL if out of memory). */
char *rv_checkpoint_tensor_key(const rv_param_view *v, size_t index);

/* 1 if s is valid UTF-8 (JSON readers such as Python's refuse anything else). */
int rv_checkpoint_valid_utf8(const char *s);

/* Load (opt non-NULL) or only verify (opt NULL) from an open stream; name is
   what messages call the file. Used by rv_checkpoint_load/inspect and by
   the fuzz target (on an in-memory stream). */
rv_status rv_checkpoint_read_stream(FILE *f, const char *name, rv_optim *opt,
                                    const rv_checkpoint_options *options,
                                    rv_checkpoint_info *info);

#endif
