/* Internal: writing a file so that it is always either the complete old
   file or the complete new one, with the rules for what a save may
   replace. Used by checkpoint saving, and by the CLI for the files it
   writes.

   The target:
   - a regular file, or nothing yet: the data goes to a temporary file in
     the same folder (locked while it is written), which is fsynced and
     renamed over the target, and the folder is fsynced. A replaced file
     keeps its permission bits (and owner, where allowed); a new file gets
     0666 minus the umask, as any file a program creates.
   - a symbolic link (a chain of them): the link stays, the file it finally
     points to is replaced as above (created if the link dangles).
   - a folder: refused.
   - anything else (a FIFO, a device such as /dev/null, a socket): refused
     with RV_ATOMIC_REGULAR_ONLY; with RV_ATOMIC_STREAM_OTHERS written into
     in place (`--out /dev/stdout`), never replaced.

   Temporary names are "<name>.tmp-XXXXXX"; when that would pass the
   folder's NAME_MAX, "<start of name>~<hash of name>.tmp-XXXXXX". A crashed
   save leaves its temporary file behind unlocked; the next save of the same
   target removes every such file no live writer holds. */
#ifndef RAVINE_CORE_ATOMIC_H
#define RAVINE_CORE_ATOMIC_H

#include <stddef.h>
#include <sys/types.h>
#include "ravine/status.h"

typedef enum rv_atomic_policy {
    RV_ATOMIC_REGULAR_ONLY,   /* refuse any target that is not a regular file */
    RV_ATOMIC_STREAM_OTHERS   /* write into FIFOs and devices in place */
} rv_atomic_policy;

typedef struct rv_atomic_file {
    int fd;
    int replace;              /* 1: a temporary file renamed at commit; 0: writing in place */
    int existed;              /* the target existed */
    char *target;             /* the file written: the path, or where its links lead */
    char *tmp;                /* the temporary file (replace only) */
    char *dir;                /* the target's folder */
    const char *label;        /* message prefix, e.g. "checkpoint 'run.safetensors'" */
    ssize_t (*write_fn)(int fd, const void *buf, size_t n);
    int (*fsync_fn)(int fd);
} rv_atomic_file;

/* Open path for writing. label starts every message. write_fn and fsync_fn
   may be NULL (POSIX write and fsync); tests pass failing ones. On failure
   nothing exists to abort. */
rv_status rv_atomic_open(rv_atomic_file *f, const char *path, const char *label,
                         rv_atomic_policy policy, ssize_t (*write_fn)(int, const void *, size_t),
                         int (*fsync_fn)(int));

/* Write n bytes (all of them, or an error). */
rv_status rv_atomic_write(rv_atomic_file *f, const void *buf, size_t n);

/* Flush, sync and rename over the target. Always releases f; on failure
   the target is as it was and the temporary file is gone. */
rv_status rv_atomic_commit(rv_atomic_file *f);

/* Give up: remove the temporary file, leave the target as it was. */
void rv_atomic_abort(rv_atomic_file *f);

#endif
