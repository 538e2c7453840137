/* Atomic file replacement (rules in core/atomic.h). */
#define _GNU_SOURCE   /* F_OFD_SETLK: locks held by an open file, not a process */
#include "core/atomic.h"
#include "core/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINKS 40            /* as the kernel's own limit on a path */
#define TMP_TAG ".tmp-"
#define TMP_RANDOM 6

static const char *kind_of(mode_t m)
{
    return S_ISDIR(m)    ? "a folder"
           : S_ISFIFO(m) ? "a FIFO"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
                         : "not a regular file";
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* The folder part of path ("." when there is none). */
static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return dup_n(".", 1);
    if (slash == path)
        return dup_n("/", 1);
    return dup_n(path, (size_t)(slash - path));
}

/* Follow symbolic links from path to the file they lead to (which need not
   exist). *st is its lstat when *exists. */
static rv_status resolve(const char *path, const char *label, char **out, struct stat *st, int *exists)
{
    char *cur = dup_n(path, strlen(path));
    if (!cur)
        return rv_fail(RV_ERR_NOMEM, "%s: out of memory", label);
    for (int hop = 0; hop <= MAX_LINKS; hop++) {
        if (lstat(cur, st)) {
            int e = errno;
            if (e == ENOENT) {
                *exists = 0;
                *out = cur;
                return RV_OK;
            }
            rv_status s = rv_fail(RV_ERR_IO, "%s: cannot look at '%s': %s", label, cur, strerror(e));
            free(cur);
            return s;
        }
        if (!S_ISLNK(st->st_mode)) {
            *exists = 1;
            *out = cur;
            return RV_OK;
        }
        size_t cap = (size_t)st->st_size + 1 > 64 ? (size_t)st->st_size + 1 : 64;
        char *link = NULL;
        ssize_t got;
        for (;;) {
            char *grown = realloc(link, cap);
            if (!grown) {
                free(link);
                free(cur);
                return rv_fail(RV_ERR_NOMEM, "%s: out of memory", label);
            }
            link = grown;
            got = readlink(cur, link, cap);
            if (got < 0 || (size_t)got < cap)
                break;
            cap *= 2;
        }
        if (got < 0) {
            rv_status s = rv_fail(RV_ERR_IO, "%s: cannot read the link '%s': %s", label, cur,
                                  strerror(errno));
            free(link);
            free(cur);
            return s;
        }
        link[got] = '\0';
        char *next;
        if (link[0] == '/') {
            next = link;
        } else {   /* relative to the link's own folder */
            char *dir = folder_of(cur);
            size_t len = dir ? strlen(dir) + 1 + (size_t)got + 1 : 0;
            next = dir ? malloc(len) : NULL;
            if (next)
                snprintf(next, len, "%s/%s", dir, link);
            free(dir);
            free(link);
            if (!next) {
                free(cur);
                return rv_fail(RV_ERR_NOMEM, "%s: out of memory", label);
            }
        }
        free(cur);
        cur = next;
    }
    free(cur);
    return rv_fail(RV_ERR_IO, "%s: more than %d symbolic links in a row", label, MAX_LINKS);
}

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* "<base>" or, when "<base>.tmp-XXXXXX" would be too long a name,
   "<start of base>~<hash>": the same for every save of this target. */
static char *temp_prefix(const char *dir, const char *base)
{
    long name_max = pathconf(dir, _PC_NAME_MAX);
    if (name_max <= 0)
        name_max = 255;
    size_t tail = strlen(TMP_TAG) + TMP_RANDOM, len = strlen(base);
    if (len + tail <= (size_t)name_max)
        return dup_n(base, len);
    size_t keep = (size_t)name_max > tail + 9 + 1 ? (size_t)name_max - tail - 9 : 1;
    while (keep > 1 && ((unsigned char)base[keep] & 0xC0) == 0x80)
        keep--;   /* cut between UTF-8 characters */
    char *p = malloc(keep + 10);
    if (p)
        snprintf(p, keep + 10, "%.*s~%08x", (int)keep, base, (unsigned)fnv1a(base));
    return p;
}

/* Lock a whole file for writing without waiting: 0 when locked. */
static int try_lock(int fd)
{
    struct flock l;
    memset(&l, 0, sizeof l);
    l.l_type = F_WRLCK;
    l.l_whence = SEEK_SET;
#ifdef F_OFD_SETLK
    if (fcntl(fd, F_OFD_SETLK, &l) == 0)
        return 0;
    if (errno != EINVAL)
        return -1;
#endif
    return fcntl(fd, F_SETLK, &l);
}

/* Remove the temporary files crashed saves of this target left: those no
   live writer holds locked. */
static void remove_stale(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t plen = strlen(prefix), tlen = strlen(TMP_TAG);
    for (struct dirent *e; (e = readdir(d));) {
        const char *n = e->d_name;
        if (strlen(n) != plen + tlen + TMP_RANDOM || strncmp(n, prefix, plen) ||
            strncmp(n + plen, TMP_TAG, tlen))
            continue;
        int ours = 1;
        for (size_t i = plen + tlen; i < plen + tlen + TMP_RANDOM; i++)
            ours &= (n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'z') ||
                    (n[i] >= 'A' && n[i] <= 'Z');
        if (!ours)
            continue;
        size_t len = strlen(dir) + 1 + strlen(n) + 1;
        char *path = malloc(len);
        if (!path)
            break;
        snprintf(path, len, "%s/%s", dir, n);
        int fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        struct stat st;
        if (fd >= 0 && !fstat(fd, &st) && S_ISREG(st.st_mode) && try_lock(fd) == 0)
            unlink(path);   /* still locked by us while it goes */
        if (fd >= 0)
            close(fd);
        free(path);
    }
    closedir(d);
}

/* Create "<dir>/<prefix>.tmp-XXXXXX" with mode 0666 (the umask applies). */
static int create_temp(const char *dir, const char *prefix, char **out)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static _Thread_local uint64_t seed;
    size_t len = strlen(dir) + 1 + strlen(prefix) + strlen(TMP_TAG) + TMP_RANDOM + 1;
    char *path = malloc(len);
    if (!path) {
        errno = ENOMEM;
        return -1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    seed ^= (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 20 ^ (uint64_t)getpid() << 40 ^
            (uint64_t)(uintptr_t)&ts;
    for (int attempt = 0; attempt < 1000; attempt++) {
        char rnd[TMP_RANDOM + 1];
        for (int i = 0; i < TMP_RANDOM; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            rnd[i] = alphabet[(seed >> 33) % (sizeof alphabet - 1)];
        }
        rnd[TMP_RANDOM] = '\0';
        snprintf(path, len, "%s/%s%s%s", dir, prefix, TMP_TAG, rnd);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd >= 0) {
            *out = path;
            return fd;
        }
        if (errno != EEXIST)
            break;
    }
    int e = errno;
    free(path);
    errno = e;
    return -1;
}

static void release(rv_atomic_file *f)
{
    free(f->target);
    free(f->tmp);
    free(f->dir);
    f->target = f->tmp = f->dir = NULL;
    f->fd = -1;
}

rv_status rv_atomic_open(rv_atomic_file *f, const char *path, const char *label,
                         rv_atomic_policy policy, ssize_t (*write_fn)(int, const void *, size_t),
                         int (*fsync_fn)(int))
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->label = label;
    f->write_fn = write_fn ? write_fn : write;
    f->fsync_fn = fsync_fn ? fsync_fn : fsync;
    size_t len = strlen(path);
    if (!len || path[len - 1] == '/')
        return rv_fail(RV_ERR_IO, "%s: '%s' names a folder, not a file", label, path);
    struct stat st;
    rv_status s = resolve(path, label, &f->target, &st, &f->existed);
    if (s)
        return s;
    if (f->existed && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode) || policy == RV_ATOMIC_REGULAR_ONLY) {
            s = rv_fail(RV_ERR_IO, "%s: '%s' is %s, not a regular file; refusing to replace it",
                        label, f->target, kind_of(st.st_mode));
            release(f);
            return s;
        }
        f->fd = open(f->target, O_WRONLY | O_CLOEXEC);
        if (f->fd < 0) {
            s = rv_fail(RV_ERR_IO, "%s: cannot open %s '%s': %s", label, kind_of(st.st_mode),
                        f->target, strerror(errno));
            release(f);
        }
        return s;
    }
    f->replace = 1;
    const char *slash = strrchr(f->target, '/');
    const char *base = slash ? slash + 1 : f->target;
    char *prefix = NULL;
    if (!(f->dir = folder_of(f->target)) || !(prefix = temp_prefix(f->dir, base))) {
        free(prefix);
        release(f);
        return rv_fail(RV_ERR_NOMEM, "%s: out of memory", label);
    }
    remove_stale(f->dir, prefix);
    /* Another saver's cleanup may take a temporary file between its
       creation and our lock: it holds the lock while it unlinks, so a file
       we lock and that still has a name is ours to keep. Otherwise make
       another (locks that the file system refuses: best effort, as before). */
    for (int attempt = 0;; attempt++) {
        f->fd = create_temp(f->dir, prefix, &f->tmp);
        if (f->fd < 0)
            break;
        struct stat mine;
        int locked = try_lock(f->fd) == 0;
        if (attempt == 7 || (locked && !fstat(f->fd, &mine) && mine.st_nlink > 0))
            break;
        close(f->fd);
        if (!locked)
            unlink(f->tmp);   /* a cleanup holds it and may be gone before unlinking */
        free(f->tmp);
        f->tmp = NULL;
    }
    free(prefix);
    if (f->fd < 0) {
        if (errno == ENOMEM)
            s = rv_fail(RV_ERR_NOMEM, "%s: out of memory creating a temporary file in '%s'", label, f->dir);
        else
            s = rv_fail(RV_ERR_IO, "%s: cannot create a temporary file in '%s': %s", label, f->dir,
                        strerror(errno));
        release(f);
        return s;
    }
    if (f->existed) {
        /* the new file takes the old one's place: its mode and, where we may, its owner */
        if (fchmod(f->fd, st.st_mode & 07777)) {
            s = rv_fail(RV_ERR_IO, "%s: cannot give the new file the old one's mode %04o: %s", label,
                        (unsigned)(st.st_mode & 07777), strerror(errno));
            rv_atomic_abort(f);
            return s;
        }
        if (st.st_uid != geteuid() || st.st_gid != getegid())
            (void)!fchown(f->fd, st.st_uid, st.st_gid);
    }
    return RV_OK;
}

rv_status rv_atomic_write(rv_atomic_file *f, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = f->write_fn(f->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w == 0 ? EIO : errno;
            return rv_fail(e == ENOMEM ? RV_ERR_NOMEM : RV_ERR_IO, "%s: write failed: %s; %s", f->label,
                           strerror(e), !f->replace ? "the output is incomplete"
                                        : f->existed ? "the old file is unchanged"
                                                     : "no file was created");
        }
        p += w;
        n -= (size_t)w;
    }
    return RV_OK;
}

rv_status rv_atomic_commit(rv_atomic_file *f)
{
    rv_status s = RV_OK;
    const char *kept = f->existed ? "the old file is unchanged" : "no file was created";
    if (!f->replace) {
        if (close(f->fd))
            s = rv_fail(RV_ERR_IO, "%s: closing failed: %s; the output may be incomplete", f->label,
                        strerror(errno));
        release(f);
        return s;
    }
    if (f->fsync_fn(f->fd))
        s = rv_fail(RV_ERR_IO, "%s: flushing to disk failed: %s; %s", f->label, strerror(errno), kept);
    if (close(f->fd) && !s)
        s = rv_fail(RV_ERR_IO, "%s: closing failed: %s; %s", f->label, strerror(errno), kept);
    f->fd = -1;
    if (!s && rename(f->tmp, f->target))
        s = rv_fail(RV_ERR_IO, "%s: cannot replace the file: %s; %s", f->label, strerror(errno), kept);
    if (s) {
        unlink(f->tmp);
        release(f);
        return s;
    }
    /* make the rename itself durable; some file systems cannot sync a
       folder (EINVAL), which is not an error of the save */
    int dfd = open(f->dir, O_RDONLY | O_CLOEXEC);
    if (dfd >= 0) {
        if (f->fsync_fn(dfd) && errno != EINVAL && errno != EBADF)
            s = rv_fail(RV_ERR_IO, "%s: written, but syncing the folder '%s' failed: %s", f->label,
                        f->dir, strerror(errno));
        close(dfd);
    }
    release(f);
    return s;
}

void rv_atomic_abort(rv_atomic_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    if (f->replace && f->tmp)
        unlink(f->tmp);
    release(f);
}
