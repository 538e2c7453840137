/* What a checkpoint save may replace, and how: a FIFO, a device or a
   folder is refused and left alone; a symbolic link is kept and the file it
   leads to replaced; the replaced file keeps its mode and a new one honours
   the umask; names near NAME_MAX still save; temporary files of crashed
   saves (kill -9 part-way) are removed by the next save, those of live
   saves are not. Everything happens in a scratch folder of its own. */
#define _DEFAULT_SOURCE   /* mknod */
#include "ravine/ravine.h"
#include "checkpoint/internal.h"
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define DIR_ "test_save_targets.d"
#define FILE_A DIR_ "/a.safetensors"
#define FILE_B DIR_ "/b.safetensors"
#include "checkpoint_kit.h"

static model m;

static int no_fsync(int fd)
{
    (void)fd;
    return 0;
}

static void rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (!lstat(path, &st) && S_ISDIR(st.st_mode)) {
            chmod(path, 0755);
            rm_rf(path);
        } else {
            unlink(path);
        }
    }
    closedir(d);
    rmdir(dir);
}

/* entries of dir whose name starts with prefix */
static int count_prefix(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += !strncmp(e->d_name, prefix, strlen(prefix));
    if (d)
        closedir(d);
    return n;
}

static int loads(const char *path)
{
    rv_checkpoint_info info;
    rv_status s = rv_checkpoint_inspect(path, &info);
    if (!s)
        rv_checkpoint_info_free(&info);
    return s == RV_OK;
}

static void refused_kinds(void)
{
    /* a FIFO: refused, still a FIFO (and nothing blocks on it) */
    CHECK(mkfifo(DIR_ "/fifo", 0644) == 0);
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, DIR_ "/fifo"), RV_ERR_IO);
    CHECK_STR(rv_errmsg(), "checkpoint '" DIR_ "/fifo': '" DIR_ "/fifo' is a FIFO, not a regular "
                           "file; refusing to replace it");
    struct stat st;
    CHECK(!lstat(DIR_ "/fifo", &st) && S_ISFIFO(st.st_mode));
    /* loading one is refused too, without waiting for a writer */
    CHECK_STATUS(rv_checkpoint_load(m.opt, DIR_ "/fifo", NULL, NULL), RV_ERR_IO);
    CHECK_STR(rv_errmsg(), "checkpoint '" DIR_ "/fifo': not a regular file (a FIFO)");
    /* a folder */
    CHECK(mkdir(DIR_ "/sub", 0755) == 0);
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, DIR_ "/sub"), RV_ERR_IO);
    CHECK_STR(rv_errmsg(), "checkpoint '" DIR_ "/sub': '" DIR_ "/sub' is a folder, not a regular "
                           "file; refusing to replace it");
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, DIR_ "/sub/"), RV_ERR_IO);
    CHECK(!lstat(DIR_ "/sub", &st) && S_ISDIR(st.st_mode));
    /* a device node: the /dev/null of a root user's --save /dev/null. Made
       here (as root) so a mistake could only replace this copy. */
    if (mknod(DIR_ "/null", S_IFCHR | 0666, makedev(1, 3)) == 0) {
        CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, DIR_ "/null"), RV_ERR_IO);
        CHECK_STR(rv_errmsg(), "checkpoint '" DIR_ "/null': '" DIR_ "/null' is a character device, "
                               "not a regular file; refusing to replace it");
        CHECK(!lstat(DIR_ "/null", &st) && S_ISCHR(st.st_mode));
        /* through a symbolic link as well */
        CHECK(symlink("null", DIR_ "/to-null") == 0);
        CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, DIR_ "/to-null"), RV_ERR_IO);
        CHECK(!lstat(DIR_ "/null", &st) && S_ISCHR(st.st_mode));
        CHECK_STATUS(rv_checkpoint_load(m.opt, DIR_ "/null", NULL, NULL), RV_ERR_IO);
        CHECK_STR(rv_errmsg(), "checkpoint '" DIR_ "/null': not a regular file (a character device)");
    } else {
        printf("save_targets: not root, device node case covered by the FIFO case only\n");
    }
    CHECK_STATUS(rv_checkpoint_load(m.opt, "/dev/zero", NULL, NULL), RV_ERR_IO);
    CHECK_STR(rv_errmsg(), "checkpoint '/dev/zero': not a regular file (a character device)");
}

static void symlinks(void)
{
    struct stat st;
    char target[256];
    /* a link to a file: the link stays, the file is replaced */
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, FILE_A), RV_OK);
    CHECK(symlink("a.safetensors", DIR_ "/link") == 0);
    run_steps(&m, NULL, 2, 3);
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, DIR_ "/link"), RV_OK);
    CHECK(!lstat(DIR_ "/link", &st) && S_ISLNK(st.st_mode));
    ssize_t n = readlink(DIR_ "/link", target, sizeof target - 1);
    CHECK(n == 13 && !strncmp(target, "a.safetensors", 13));
    rv_checkpoint_info info;
    CHECK_STATUS(rv_checkpoint_inspect(FILE_A, &info), RV_OK);
    CHECK(info.step == 3);
    rv_checkpoint_info_free(&info);
    /* a chain of links into a subfolder, relative to each link's folder */
    CHECK(mkdir(DIR_ "/deep", 0755) == 0);
    CHECK(symlink("deep/hop", DIR_ "/chain") == 0);
    CHECK(symlink("../deep/final.safetensors", DIR_ "/deep/hop") == 0);
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, DIR_ "/chain"), RV_OK);   /* dangling: created */
    CHECK(!lstat(DIR_ "/deep/final.safetensors", &st) && S_ISREG(st.st_mode));
    CHECK(!lstat(DIR_ "/chain", &st) && S_ISLNK(st.st_mode));
    CHECK(!lstat(DIR_ "/deep/hop", &st) && S_ISLNK(st.st_mode));
    CHECK(loads(DIR_ "/chain"));
    CHECK(count_prefix(DIR_ "/deep", "final.safetensors.tmp-") == 0);
    CHECK(count_prefix(DIR_, "chain.tmp-") == 0);
    /* a loop */
    CHECK(symlink("loop2", DIR_ "/loop1") == 0 && symlink("loop1", DIR_ "/loop2") == 0);
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, DIR_ "/loop1"), RV_ERR_IO);
    CHECK_STR(rv_errmsg(), "checkpoint '" DIR_ "/loop1': more than 40 symbolic links in a row");
}

static void modes(void)
{
    struct stat st;
    mode_t old = umask(077);
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, DIR_ "/private.safetensors"), RV_OK);
    CHECK(!stat(DIR_ "/private.safetensors", &st) && (st.st_mode & 0777) == 0600);
    umask(022);
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, DIR_ "/public.safetensors"), RV_OK);
    CHECK(!stat(DIR_ "/public.safetensors", &st) && (st.st_mode & 0777) == 0644);
    /* a replaced file keeps its own bits, whatever the umask */
    CHECK(chmod(DIR_ "/public.safetensors", 0640) == 0);
    umask(077);
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, DIR_ "/public.safetensors"), RV_OK);
    CHECK(!stat(DIR_ "/public.safetensors", &st) && (st.st_mode & 07777) == 0640);
    CHECK(chmod(DIR_ "/private.safetensors", 0604) == 0);
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, DIR_ "/private.safetensors"), RV_OK);
    CHECK(!stat(DIR_ "/private.safetensors", &st) && (st.st_mode & 07777) == 0604);
    umask(old);
}

/* A name as long as the folder allows: the temporary name is shortened, the
   file saves and loads, and nothing is left behind. */
static void long_names(void)
{
    long name_max = pathconf(DIR_, _PC_NAME_MAX);
    if (name_max <= 0 || name_max > 1000)
        name_max = 255;
    char path[1200];
    int k = snprintf(path, sizeof path, "%s/", DIR_);
    for (long i = 0; i < name_max - 12; i++)
        path[k++] = (char)('a' + i % 26);
    strcpy(path + k, ".safetensors");
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, path), RV_OK);
    CHECK(loads(path));
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, path), RV_OK);   /* and replaces */
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%.40s", path + strlen(DIR_) + 1);
    CHECK(count_prefix(DIR_, prefix) == 1);   /* only the file: no temporary left */
    unlink(path);
}

/* kill -9 in the middle of a save: the old file is whole, the temporary
   file stays behind, and the next save of the same target removes it. A
   temporary file a live save holds is left alone. */
static size_t kill_after;
static ssize_t killing_write(int fd, const void *buf, size_t n)
{
    if (n >= kill_after) {
        if (kill_after)
            write(fd, buf, kill_after);
        raise(SIGKILL);
    }
    kill_after -= n;
    return write(fd, buf, n);
}

static void crashes(void)
{
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, FILE_B), RV_OK);
    blob before = slurp(FILE_B);
    for (size_t at = 0; at < before.n; at += before.n / 3) {
        pid_t pid = fork();
        if (pid == 0) {
            kill_after = at;
            rv_checkpoint_write_fn = killing_write;
            run_steps(&m, NULL, 3, 4);
            rv_checkpoint_save(m.opt, NULL, FILE_B);
            _exit(0);   /* not reached */
        }
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "killed at byte %zu", at);
        blob after = slurp(FILE_B);
        CHECK(after.n == before.n && !memcmp(after.b, before.b, before.n));
        free(after.b);
    }
    /* each crashed save removed its predecessor's leftover: one is left */
    CHECK(count_prefix(DIR_, "b.safetensors.tmp-") == 1);

    /* a live save of the same target holds its temporary file locked */
    int ready[2], go[2];
    CHECK(pipe(ready) == 0 && pipe(go) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(DIR_ "/b.safetensors.tmp-LIVE01", O_WRONLY | O_CREAT | O_EXCL, 0644);
        struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        char c = fd >= 0 && fcntl(fd, F_SETLK, &l) == 0 ? 'y' : 'n';
        (void)!write(ready[1], &c, 1);
        (void)!read(go[0], &c, 1);
        _exit(0);
    }
    char c = 0;
    CHECK(read(ready[0], &c, 1) == 1 && c == 'y');
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, FILE_B), RV_OK);
    CHECK(count_prefix(DIR_, "b.safetensors.tmp-") == 1);   /* only the live one */
    CHECK(count_prefix(DIR_, "b.safetensors.tmp-LIVE01") == 1);
    (void)!write(go[1], "x", 1);
    waitpid(pid, NULL, 0);
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, FILE_B), RV_OK);
    CHECK(count_prefix(DIR_, "b.safetensors.tmp-") == 0);   /* its writer is gone: removed */
    /* names that only look alike are not touched */
    FILE *f = fopen(DIR_ "/b.safetensors.tmp-notours", "w");
    if (f)
        fclose(f);
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, FILE_B), RV_OK);
    CHECK(count_prefix(DIR_, "b.safetensors.tmp-notours") == 1);
    free(before.b);
    close(ready[0]), close(ready[1]), close(go[0]), close(go[1]);
}

/* A folder the user may not write: the save fails, the file is unchanged
   (root may write anywhere, so this runs only for other users). */
static void read_only_folder(void)
{
    if (geteuid() == 0) {
        printf("save_targets: root: the read-only folder case does not apply\n");
        return;
    }
    CHECK(mkdir(DIR_ "/ro", 0755) == 0);
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, DIR_ "/ro/x.safetensors"), RV_OK);
    blob before = slurp(DIR_ "/ro/x.safetensors");
    CHECK(chmod(DIR_ "/ro", 0555) == 0);
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, DIR_ "/ro/x.safetensors"), RV_ERR_IO);
    CHECK_STR(rv_errmsg(), "checkpoint '" DIR_ "/ro/x.safetensors': cannot create a temporary file in '"
                           DIR_ "/ro': Permission denied");
    blob after = slurp(DIR_ "/ro/x.safetensors");
    CHECK(after.n == before.n && !memcmp(after.b, before.b, before.n));
    chmod(DIR_ "/ro", 0755);
    free(before.b);
    free(after.b);
}

int main(void)
{
    rm_rf(DIR_);
    if (mkdir(DIR_, 0755)) {
        perror(DIR_);
        return 1;
    }
    rv_checkpoint_fsync_fn = no_fsync;
    model_init(&m, "adam(lr=0.01)");
    run_steps(&m, NULL, 0, 2);
    refused_kinds();
    symlinks();
    modes();
    long_names();
    crashes();
    read_only_folder();
    rv_optim_free(m.opt);
    rm_rf(DIR_);
    return check_summary("save_targets");
}
