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
#include "optim/type.h"

/* File format version written by this build; files with a larger number are
   refused with RV_ERR_VERSION. Version 1 (float32 parameters and state of
   the tensor's length, no shapes, scalars or mode) is still read. */
#define RV_CHECKPOINT_VERSION 2

/* 1 on a little-endian host (files are little-endian). */
static inline int rv_checkpoint_host_le(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

/* A tensor's state exists (as the writer sees it): a bf16 tensor's master,
   else its first buffer. */
static inline int rv_checkpoint_holds_state(const rv_param_view *v)
{
    return v->n && (v->dtype == RV_BF16 ? v->master != NULL : v->n_state && v->state_data[0]);
}
/* The same bound the safetensors library uses for the JSON header. */
#define RV_CHECKPOINT_HEADER_LIMIT 100000000ull
#define RV_CHECKPOINT_FORMAT "ravine.checkpoint"
/* Dimensions of a tensor's shape, at most. */
#define RV_CHECKPOINT_MAX_RANK 8
/* Numbers in the header (offsets, dimensions) and counters in the metadata
   (steps) are whole numbers up to 2^53: every JSON reader and every double
   holds them exactly, and an optimizer can take far more steps from any of
   them without its counters overflowing. */
#define RV_CHECKPOINT_MAX_WHOLE 9007199254740992ull

/* The element types of the entries, by their safetensors names. */
typedef enum rv_checkpoint_dtype {
    RV_DT_F32 = 0,   /* float32 */
    RV_DT_BF16,      /* bfloat16: raw uint16 bits */
    RV_DT_U8,        /* int8 state's codes */
    RV_DT_F64,       /* per-tensor scalars */
    RV_DT_UNKNOWN
} rv_checkpoint_dtype;

const char *rv_checkpoint_dtype_name(rv_checkpoint_dtype d);
size_t rv_checkpoint_dtype_size(rv_checkpoint_dtype d);
/* RV_DT_UNKNOWN for a name this version does not read. */
rv_checkpoint_dtype rv_checkpoint_dtype_of(const char *name);

/* One entry of a tensor's stored state (layout.c). */
typedef enum rv_checkpoint_slot_kind {
    RV_SLOT_MASTER,   /* "state/<key>/master": a bf16 tensor's float32 master */
    RV_SLOT_BUFFER,   /* "state/<key>/<buffer>": F32, BF16 or U8 codes, as held */
    RV_SLOT_ABSMAX,   /* "state/<key>/<buffer>.absmax": an int8 buffer's block scales */
    RV_SLOT_SCALAR    /* "scalar/<key>/<name>": F64, shape [] */
} rv_checkpoint_slot_kind;

#define RV_CHECKPOINT_ABSMAX ".absmax"
#define RV_CHECKPOINT_MAX_SLOTS (1 + 2 * RV_MAX_STATE + RV_MAX_SCALARS)

typedef struct rv_checkpoint_slot {
    rv_checkpoint_slot_kind kind;
    size_t index;            /* the buffer's (BUFFER, ABSMAX) or the scalar's */
    const char *name;        /* "master", the buffer's or the scalar's name */
    rv_checkpoint_dtype dtype;
    size_t len;              /* values (1 for a scalar, stored with shape []) */
    rv_precision prec;       /* BUFFER: how the optimizer holds it */
    int nonnegative;         /* BUFFER: int8's unsigned map */
} rv_checkpoint_slot;

/* The entries of a tensor's state in a file of the given version, in the
   order they are written: the master (bf16 tensors), each buffer (and
   after an int8 one its scales), then the scalars. Version 1: float32
   buffers named and sized as for a vector of shape->n values, and the
   scalars it never held. Returns how many (at most RV_CHECKPOINT_MAX_SLOTS). */
size_t rv_checkpoint_slots(const rv_optim_type *type, const rv_hparams *h, const rv_shape *shape,
                           rv_precision dtype, int version, rv_checkpoint_slot *out);
/* How buffer k is held under h. */
rv_precision rv_checkpoint_buffer_precision(const rv_optim_type *type, const rv_hparams *h, size_t k);
/* "state/<key>/<name>[.absmax]" or "scalar/<key>/<name>", malloc'd (NULL
   when out of memory). */
char *rv_checkpoint_slot_key(const char *key, const rv_checkpoint_slot *s);
/* A registered tensor's shape as the algorithms see it. */
void rv_checkpoint_view_shape(const rv_param_view *v, rv_shape *out);
/* "[2, 3]" into buf (snprintf's contract). */
size_t rv_checkpoint_format_shape(const size_t *dims, size_t ndim, char *buf, size_t size);

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

/* The header as parsed (header.c): strings unescaped into one arena. */
typedef struct rv_checkpoint_tensor {
    const char *name;
    const char *dtype;
    const uint64_t *shape;     /* rank dimensions */
    size_t rank;
    uint64_t begin, end;       /* byte offsets in the data section */
    uint64_t numel;            /* set by the loader once checked */
    uint32_t crc;              /* stored checksum, set by the loader */
    int used;                  /* claimed by the metadata */
} rv_checkpoint_tensor;

typedef struct rv_checkpoint_meta {
    const char *key, *value;
} rv_checkpoint_meta;

typedef struct rv_checkpoint_header {
    rv_checkpoint_tensor *tensors;
    size_t n_tensors;
    rv_checkpoint_meta *meta;
    size_t n_meta;
    int has_meta;              /* a __metadata__ object was present */
    uint64_t *dims;            /* every tensor's dimensions */
    char *arena;               /* every string */
} rv_checkpoint_header;

/* Parse len bytes of header text strictly: RV_ERR_FORMAT naming what and
   where, RV_ERR_NOMEM when its records do not fit. Memory: the header's
   length for the strings plus one record per tensor, dimension and
   metadata entry. */
rv_status rv_checkpoint_parse_header(const char *text, size_t len, const char *name,
                                     rv_checkpoint_header *out);
void rv_checkpoint_header_free(rv_checkpoint_header *h);

/* Load (opt non-NULL) or only verify (opt NULL) from an open stream; name is
   what messages call the file. Used by rv_checkpoint_load/inspect and by
   the fuzz target (on an in-memory stream). */
rv_status rv_checkpoint_read_stream(FILE *f, const char *name, rv_optim *opt,
                                    const rv_checkpoint_options *options,
                                    rv_checkpoint_info *info);

#endif
