/* ravine/checkpoint.h — save and resume training: parameters, optimizer
   state, step counts, hyperparameters and the schedule, in one safetensors
   file that Python opens with the safetensors package or 10 lines of json +
   struct + zlib (docs/safety.md).

       // save after step t (atomically: a crash never leaves a torn file)
       if (rv_checkpoint_save(opt, "cosine(lr=3e-4, t_max=10000)", "run.safetensors"))
           die(rv_errmsg());

       // resume: build the optimizer with the same tensors, then load
       rv_optim *opt;
       rv_optim_create_spec(&opt, "adamw(lr=3e-4)");
       rv_optim_add_param(opt, 0, "w", w, grad_w, n, NULL);
       rv_checkpoint_info info;
       if (rv_checkpoint_load(opt, "run.safetensors", NULL, &info))
           die(rv_errmsg());           // nothing was changed
       rv_schedule *lr;
       rv_schedule_parse(info.schedule, &lr);
       for (long t = info.schedule_step; t < 10000; t++) { ... rv_schedule_lr(lr, t) ... }
       rv_checkpoint_info_free(&info);

   A resumed run is bit-identical to an uninterrupted one: parameters and
   state are stored as the optimizer holds them (float32, bfloat16
   parameters with their float32 masters, bf16 or int8 state with its block
   scales, each buffer at its own length), with every tensor's shape, step
   count and per-tensor scalars (nadam's mu_product, schedule-free's lr_max
   and weight_sum), schedule-free's train/eval mode, and every group's
   hyperparameters as its canonical spec, whose numbers are written with
   as many digits as it takes to read back the same double.

   File layout (safetensors, format version 2): 8-byte little-endian header
   length N, N bytes of JSON, then raw little-endian data. Tensors:
   "param/<key>" (F32 or BF16, with the tensor's shape), "state/<key>/<buffer>"
   (torch's buffer names: exp_avg, exp_avg_sq, momentum_buffer, ...; F32,
   BF16, or U8 codes with "state/<key>/<buffer>.absmax" block scales),
   "state/<key>/master" for a bf16 tensor, and "scalar/<key>/<name>" (F64),
   where <key> is the tensor's name, or "tensor<i>" for an unnamed tensor.
   Metadata (all strings) records the format and its version, the
   optimizer, each group's spec and lr, each tensor's group and step, the
   global and skipped step counts, the schedule and its position, the mode,
   a CRC-32 (zlib.crc32) of each tensor's bytes and one of the header itself.
   docs/safety.md describes every field; files of format version 1 load as
   they always did.

   Loading validates the whole file into temporary buffers before touching
   the optimizer: a truncated, damaged, oversized, inconsistent or foreign
   file, or one from another optimizer or tensor layout, fails with
   RV_ERR_IO / RV_ERR_FORMAT / RV_ERR_CHECKSUM / RV_ERR_VERSION /
   RV_ERR_MISMATCH (RV_ERR_NOMEM when memory runs out) and a message saying
   what and where, and changes nothing. Work and memory are linear in the
   file; the JSON header takes at most a few times its own size.

   Saving replaces a regular file atomically; a symbolic link is kept and
   the file it points to is replaced; anything else (a folder, a FIFO, a
   device such as /dev/null) is refused. The replaced file keeps its
   permission bits, a new one gets 0666 minus the umask. docs/safety.md
   lists every limit. */
#ifndef RAVINE_CHECKPOINT_H
#define RAVINE_CHECKPOINT_H

#include <stddef.h>
#include "ravine/status.h"
#include "ravine/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An entry of the caller's own stored with the checkpoint, such as the
   seed of the data order a resumed run must keep: metadata
   "extra/<key>" = value, both non-empty valid UTF-8 for the key, UTF-8 for
   the value. */
typedef struct rv_checkpoint_extra {
    const char *key;
    const char *value;
} rv_checkpoint_extra;

/* One tensor of a checkpoint, as it was saved: what a program needs to
   register it again before loading (e.g. `ravine replay --resume`). */
typedef struct rv_checkpoint_tensor_info {
    char *key;                    /* its name, or "tensor<i>" for an unnamed tensor i */
    size_t group;
    size_t n;                     /* elements */
    size_t ndim;                  /* its shape: 1 and {n} for a tensor added without one */
    size_t shape[RV_MAX_DIMS];
    rv_precision dtype;           /* RV_FP32, or RV_BF16 (a bf16 tensor over a float32 master) */
    long step;
    int has_state;                /* 0: saved before its first step */
} rv_checkpoint_tensor_info;

/* What a checkpoint holds, apart from the numbers. The texts have no
   length limit: they are allocated, and rv_checkpoint_info_free releases
   them (a failed call fills nothing and allocates nothing). */
typedef struct rv_checkpoint_info {
    int version;                  /* file format version */
    char *optimizer;              /* group 0's canonical spec */
    size_t n_groups;
    size_t n_params;              /* tensors */
    size_t numel;                 /* parameter elements over all tensors */
    long step;                    /* completed steps (rv_optim_step_count), at most 2^53 */
    long skipped;                 /* steps skipped for non-finite gradients */
    char *schedule;               /* canonical schedule spec, "" if none */
    long schedule_step;           /* the t of the next update's schedule(t) */
    rv_checkpoint_extra *extra;   /* the caller's entries, by key */
    size_t n_extra;
    int eval_mode;                /* saved in eval mode (schedule-free: the parameters hold x) */
    rv_checkpoint_tensor_info *tensors;   /* n_params of them, in the optimizer's order */
} rv_checkpoint_info;

/* The value of the caller's entry key, or NULL if the file has none. */
const char *rv_checkpoint_extra_value(const rv_checkpoint_info *info, const char *key);

/* Release the texts of an info filled by a successful load or inspect
   (safe on a zeroed info, and twice). */
void rv_checkpoint_info_free(rv_checkpoint_info *info);

typedef struct rv_checkpoint_options {
    /* 0 (default): each group takes the file's hyperparameters, as torch's
       load_state_dict does. 1: groups keep their own; the file's state
       buffers must then be the ones those hyperparameters use. */
    int keep_hparams;
} rv_checkpoint_options;

/* Write opt's parameters, state, step counts and hyperparameters to path,
   with schedule_spec (may be NULL) and its position = rv_optim_step_count.
   Atomic: a temporary file in the same folder is written, flushed, fsynced
   and renamed over path; on any failure path is left as it was. Tensor keys
   must be unique and valid UTF-8; counters must be at most 2^53 (a file
   that could not be loaded is never written). */
rv_status rv_checkpoint_save(const rv_optim *opt, const char *schedule_spec, const char *path);

/* As rv_checkpoint_save, with an explicit schedule position. */
rv_status rv_checkpoint_save_at(const rv_optim *opt, const char *schedule_spec,
                                long schedule_step, const char *path);

/* As rv_checkpoint_save_at, with n_extra entries of the caller's own (keys
   unique). */
rv_status rv_checkpoint_save_extra(const rv_optim *opt, const char *schedule_spec,
                                   long schedule_step, const rv_checkpoint_extra *extra,
                                   size_t n_extra, const char *path);

/* Restore opt (same algorithm, groups, tensor names and sizes as when it was
   saved) from path. options NULL: defaults. info (may be NULL) receives the
   file's description. On failure opt is unchanged. */
rv_status rv_checkpoint_load(rv_optim *opt, const char *path, const rv_checkpoint_options *options,
                             rv_checkpoint_info *info);

/* Verify a checkpoint completely (header, layout, checksums) and describe
   it, without an optimizer: e.g. to learn the sizes before creating one. */
rv_status rv_checkpoint_inspect(const char *path, rv_checkpoint_info *info);

#ifdef __cplusplus
}
#endif
#endif
