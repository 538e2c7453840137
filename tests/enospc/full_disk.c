/* A full file system for one process, with no mount: preloaded
   (LD_PRELOAD), this write() lets RAVINE_FULL_BYTES bytes in all reach the
   files under the folder RAVINE_FULL_DIR (a path prefix), writes what fits
   of the write that crosses the limit (a short write), and then fails
   every write there with ENOSPC, as a file system that has filled up does.
   Other files, pipes and terminals are written as usual. The CLI tests use
   it where mounting a small tmpfs is not allowed (containers). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long long left = -1;   /* bytes that still fit; -1: not read yet */

static int under_full_dir(int fd)
{
    const char *dir = getenv("RAVINE_FULL_DIR");
    if (!dir || !dir[0])
        return 0;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0)
        return 0;
    path[n] = '\0';
    size_t len = strlen(dir);
    return !strncmp(path, dir, len) && (path[len] == '/' || dir[len - 1] == '/');
}

ssize_t write(int fd, const void *buf, size_t n)
{
    if (n && under_full_dir(fd)) {
        if (left < 0) {
            const char *text = getenv("RAVINE_FULL_BYTES");
            left = text ? atoll(text) : 0;
        }
        if (!left) {
            errno = ENOSPC;
            return -1;
        }
        if ((long long)n > left)
            n = (size_t)left;
        ssize_t w = syscall(SYS_write, fd, buf, n);
        if (w > 0)
            left -= w;
        return w;
    }
    return syscall(SYS_write, fd, buf, n);
}
