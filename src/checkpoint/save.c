/* Writing a checkpoint: build the safetensors header, then write header and
   raw float32 data to a temporary file that is fsynced and renamed over the
   target, so the target is always either the old file or the new one. */
#include "checkpoint/internal.h"
#include "core/error.h"
#include "ravine/schedule.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

ssize_t (*rv_checkpoint_write_fn)(int fd, const void *buf, size_t n) = write;
int (*rv_checkpoint_fsync_fn)(int fd) = fsync;

/* ---- a growable string ------------------------------------------------ */

typedef struct text {
    char *s;
    size_t len, cap;
    int oom;
} text;

static void put_n(text *t, const char *s, size_t n)
{
    if (t->oom)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *grown = realloc(t->s, cap);
        if (!grown) {
            t->oom = 1;
            return;
        }
        t->s = grown;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void put(text *t, const char *s) { put_n(t, s, strlen(s)); }

static void putf(text *t, const char *fmt, ...) RV_PRINTF(2, 3);
static void putf(text *t, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf)
        t->oom = 1;   /* never happens: only numbers go through here */
    else
        put_n(t, buf, (size_t)n);
}

/* A JSON string literal: quotes, backslashes and control bytes escaped;
   UTF-8 passes through (checked before). */
static void put_json(text *t, const char *s)
{
    put(t, "\"");
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            char e[3] = {'\\', (char)c, 0};
            put(t, e);
        } else if (c < 0x20) {
            putf(t, "\\u%04x", c);
        } else {
            put_n(t, p, 1);
        }
    }
    put(t, "\"");
}

/* "key":"value" metadata entries, comma-separated */
static void meta(text *t, const char *key, const char *value)
{
    put(t, ",");
    put_json(t, key);
    put(t, ":");
    put_json(t, value);
}

static void meta_long(text *t, const char *key, long value)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", value);
    meta(t, key, buf);
}

/* ---- what gets written ------------------------------------------------ */

typedef struct entry {
    char *name;          /* "param/w", "state/w/exp_avg" */
    const float *data;
    size_t n;
    uint32_t crc;
} entry;

typedef struct plan {
    rv_param_view *views;
    char **keys;
    size_t n_params;
    entry *entries;
    size_t n_entries;
} plan;

static void plan_free(plan *p)
{
    for (size_t i = 0; p->keys && i < p->n_params; i++)
        free(p->keys[i]);
    for (size_t i = 0; p->entries && i < p->n_entries; i++)
        free(p->entries[i].name);
    free(p->keys);
    free(p->entries);
    free(p->views);
}

static int host_little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

/* CRC of n floats as little-endian bytes. */
static uint32_t crc_floats(const float *x, size_t n)
{
    if (host_little_endian())
        return rv_crc32(0, x, n * sizeof *x);
    uint32_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        unsigned char b[4] = {(unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16),
                              (unsigned char)(u >> 24)};
        crc = rv_crc32(crc, b, 4);
    }
    return crc;
}

static char *join(const char *a, const char *b, const char *c)
{
    size_t len = strlen(a) + strlen(b) + (c ? strlen(c) + 1 : 0) + 1;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, c ? "%s%s/%s" : "%s%s", a, b, c ? c : "");
    return s;
}

static rv_status make_plan(const rv_optim *opt, const char *path, plan *p)
{
    memset(p, 0, sizeof *p);
    size_t n = rv_optim_param_count(opt);
    p->n_params = n;
    p->views = calloc(n ? n : 1, sizeof *p->views);
    p->keys = calloc(n ? n : 1, sizeof *p->keys);
    p->entries = calloc(n ? n * 5 : 1, sizeof *p->entries);   /* param + at most 4 states */
    if (!p->views || !p->keys || !p->entries)
        return rv_fail(RV_ERR_NOMEM, "checkpoint '%s': out of memory", path);
    const rv_optim_type *type = rv_optim_get_type(opt);
    for (size_t i = 0; i < n; i++) {
        rv_param_view *v = &p->views[i];
        rv_status s = rv_optim_param_view(opt, i, v);
        if (s)
            return s;
        if (!(p->keys[i] = rv_checkpoint_tensor_key(v, i)))
            return rv_fail(RV_ERR_NOMEM, "checkpoint '%s': out of memory", path);
        if (!rv_checkpoint_valid_utf8(p->keys[i]))
            return rv_fail(RV_ERR_ARG,
                           "checkpoint '%s': tensor %zu's name is not valid UTF-8, which "
                           "safetensors headers require",
                           path, i);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(p->keys[i], p->keys[j]))
                return rv_fail(RV_ERR_ARG,
                               "checkpoint '%s': tensors %zu and %zu are both named '%s'; "
                               "checkpoints need unique names",
                               path, j, i, p->keys[i]);
        entry *e = &p->entries[p->n_entries];
        if (!(e->name = join("param/", p->keys[i], NULL)))
            return rv_fail(RV_ERR_NOMEM, "checkpoint '%s': out of memory", path);
        e->data = v->param;
        e->n = v->n;
        p->n_entries++;
        /* state exists once the first step (or rv_optim_ensure_state) ran */
        if (!v->n || !v->state[0])
            continue;
        rv_hparams h;
        rv_optim_group_hparams(opt, v->group, &h);
        for (size_t k = 0; k < v->n_state; k++) {
            e = &p->entries[p->n_entries];
            if (!(e->name = join("state/", p->keys[i], rv_state_name(type, &h, k))))
                return rv_fail(RV_ERR_NOMEM, "checkpoint '%s': out of memory", path);
            e->data = v->state[k];
            e->n = v->n;
            p->n_entries++;
        }
    }
    return RV_OK;
}

/* The JSON header, padded with spaces to a multiple of 8 bytes (as the
   safetensors writer does), header_crc32 filled in last. */
static rv_status build_header(const rv_optim *opt, const plan *p, const char *schedule,
                              long schedule_step, const char *path, text *t)
{
    const rv_optim_type *type = rv_optim_get_type(opt);
    put(t, "{");
    size_t offset = 0;
    for (size_t i = 0; i < p->n_entries; i++) {
        const entry *e = &p->entries[i];
        if (i)
            put(t, ",");
        put_json(t, e->name);
        putf(t, ":{\"dtype\":\"F32\",\"shape\":[%zu],\"data_offsets\":[%zu,%zu]}", e->n, offset,
             offset + 4 * e->n);
        offset += 4 * e->n;
    }
    if (p->n_entries)
        put(t, ",");
    put(t, "\"__metadata__\":{\"format\":\"" RV_CHECKPOINT_FORMAT "\"");
    meta_long(t, "format_version", RV_CHECKPOINT_VERSION);
    meta(t, "optimizer", rv_optim_type_name(type));
    meta_long(t, "groups", (long)rv_optim_group_count(opt));
    for (size_t g = 0; g < rv_optim_group_count(opt); g++) {
        rv_hparams h;
        rv_optim_group_hparams(opt, g, &h);
        char spec[RV_CHECKPOINT_TEXT_MAX], key[64], lr[64];
        if (rv_hparams_format(type, &h, spec, sizeof spec) >= sizeof spec)
            return rv_fail(RV_ERR_ARG, "checkpoint '%s': group %zu's spec is longer than %d bytes",
                           path, g, RV_CHECKPOINT_TEXT_MAX - 1);
        snprintf(key, sizeof key, "group/%zu/spec", g);
        meta(t, key, spec);
        /* the spec prints 9 digits; lr is often computed (schedules), so
           it is also stored exactly */
        snprintf(key, sizeof key, "group/%zu/lr", g);
        snprintf(lr, sizeof lr, "%.17g", h.lr);
        meta(t, key, lr);
    }
    meta_long(t, "tensors", (long)p->n_params);
    for (size_t i = 0; i < p->n_params; i++) {
        char key[64];
        snprintf(key, sizeof key, "tensor/%zu", i);
        meta(t, key, p->keys[i]);
        char *k = join("param/", p->keys[i], "group");
        char *s = join("param/", p->keys[i], "step");
        if (!k || !s) {
            free(k);
            free(s);
            return rv_fail(RV_ERR_NOMEM, "checkpoint '%s': out of memory", path);
        }
        meta_long(t, k, (long)p->views[i].group);
        meta_long(t, s, p->views[i].step);
        free(k);
        free(s);
    }
    meta_long(t, "step", rv_optim_step_count(opt));
    meta_long(t, "skipped", rv_optim_skipped_count(opt));
    meta(t, "schedule", schedule);
    meta_long(t, "schedule_step", schedule_step);
    meta(t, "checksum", "crc32");
    for (size_t i = 0; i < p->n_entries; i++) {
        char *k = join("crc32/", p->entries[i].name, NULL);
        char crc[16];
        if (!k)
            return rv_fail(RV_ERR_NOMEM, "checkpoint '%s': out of memory", path);
        snprintf(crc, sizeof crc, "%08x", (unsigned)p->entries[i].crc);
        meta(t, k, crc);
        free(k);
    }
    put(t, ",\"header_crc32\":\"");
    size_t crc_at = t->len;
    put(t, "00000000\"}}");
    while (t->len % 8)
        put(t, " ");
    if (t->oom)
        return rv_fail(RV_ERR_NOMEM, "checkpoint '%s': out of memory building the header", path);
    if (t->len > RV_CHECKPOINT_HEADER_LIMIT)
        return rv_fail(RV_ERR_SIZE, "checkpoint '%s': the header would be %zu bytes, over the %llu-byte limit",
                       path, t->len, RV_CHECKPOINT_HEADER_LIMIT);
    char digits[9];
    snprintf(digits, sizeof digits, "%08x", (unsigned)rv_crc32(0, t->s, t->len));
    memcpy(t->s + crc_at, digits, 8);
    return RV_OK;
}

/* ---- writing ---------------------------------------------------------- */

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = rv_checkpoint_write_fn(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int write_floats(int fd, const float *x, size_t n)
{
    if (host_little_endian())
        return write_all(fd, x, n * sizeof *x);
    unsigned char buf[4096];
    while (n) {
        size_t k = n < sizeof buf / 4 ? n : sizeof buf / 4;
        for (size_t i = 0; i < k; i++) {
            uint32_t u;
            memcpy(&u, &x[i], 4);
            for (int b = 0; b < 4; b++)
                buf[4 * i + b] = (unsigned char)(u >> (8 * b));
        }
        if (write_all(fd, buf, 4 * k))
            return -1;
        x += k;
        n -= k;
    }
    return 0;
}

static rv_status write_file(const char *path, const text *header, const plan *p)
{
    size_t len = strlen(path);
    char *tmp = malloc(len + 16);
    char *dir = malloc(len + 2);
    if (!tmp || !dir) {
        free(tmp);
        free(dir);
        return rv_fail(RV_ERR_NOMEM, "checkpoint '%s': out of memory", path);
    }
    snprintf(tmp, len + 16, "%s.tmp-XXXXXX", path);
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, len + 2, ".");
    else if (slash == path)
        snprintf(dir, len + 2, "/");
    else
        snprintf(dir, len + 2, "%.*s", (int)(slash - path), path);

    rv_status s = RV_OK;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        s = rv_fail(RV_ERR_IO, "checkpoint '%s': cannot create a temporary file in '%s': %s", path,
                    dir, strerror(errno));
        goto out;
    }
    unsigned char len8[8];
    for (int b = 0; b < 8; b++)
        len8[b] = (unsigned char)((uint64_t)header->len >> (8 * b));
    int bad = write_all(fd, len8, 8) || write_all(fd, header->s, header->len);
    for (size_t i = 0; !bad && i < p->n_entries; i++)
        bad = write_floats(fd, p->entries[i].data, p->entries[i].n);
    if (bad) {
        s = rv_fail(RV_ERR_IO, "checkpoint '%s': write failed: %s; the old file is unchanged", path,
                    strerror(errno));
    } else if (fchmod(fd, 0644) || rv_checkpoint_fsync_fn(fd)) {
        s = rv_fail(RV_ERR_IO, "checkpoint '%s': flushing to disk failed: %s; the old file is unchanged",
                    path, strerror(errno));
    }
    if (close(fd) && !s)
        s = rv_fail(RV_ERR_IO, "checkpoint '%s': closing failed: %s; the old file is unchanged", path,
                    strerror(errno));
    if (!s && rename(tmp, path))
        s = rv_fail(RV_ERR_IO, "checkpoint '%s': cannot replace the file: %s; the old file is unchanged",
                    path, strerror(errno));
    if (s) {
        unlink(tmp);
        goto out;
    }
    /* make the rename itself durable; some file systems cannot sync a
       folder (EINVAL), which is not an error of the save */
    int dfd = open(dir, O_RDONLY);
    if (dfd >= 0) {
        if (rv_checkpoint_fsync_fn(dfd) && errno != EINVAL && errno != EBADF)
            s = rv_fail(RV_ERR_IO, "checkpoint '%s': written, but syncing the folder '%s' failed: %s",
                        path, dir, strerror(errno));
        close(dfd);
    }
out:
    free(tmp);
    free(dir);
    return s;
}

rv_status rv_checkpoint_save_at(const rv_optim *opt, const char *schedule_spec, long schedule_step,
                                const char *path)
{
    if (!opt || !path)
        return rv_fail(RV_ERR_NULL, "rv_checkpoint_save: %s is NULL", opt ? "path" : "optimizer");
    if (!path[0])
        return rv_fail(RV_ERR_ARG, "rv_checkpoint_save: path is empty");
    if (schedule_step < 0)
        return rv_fail(RV_ERR_ARG, "checkpoint '%s': schedule_step must be >= 0, got %ld", path,
                       schedule_step);
    char schedule[RV_CHECKPOINT_TEXT_MAX] = "";
    if (schedule_spec) {
        rv_schedule *sched;
        rv_status s = rv_schedule_parse(schedule_spec, &sched);
        if (s)
            return s;
        size_t need = rv_schedule_format(sched, schedule, sizeof schedule);
        rv_schedule_free(sched);
        if (need >= sizeof schedule)
            return rv_fail(RV_ERR_ARG, "checkpoint '%s': schedule spec is longer than %d bytes", path,
                           RV_CHECKPOINT_TEXT_MAX - 1);
    }
    plan p;
    text header = {0};
    rv_status s = make_plan(opt, path, &p);
    for (size_t i = 0; !s && i < p.n_entries; i++)
        p.entries[i].crc = crc_floats(p.entries[i].data, p.entries[i].n);
    if (!s)
        s = build_header(opt, &p, schedule, schedule_step, path, &header);
    if (!s)
        s = write_file(path, &header, &p);
    free(header.s);
    plan_free(&p);
    return s;
}

rv_status rv_checkpoint_save(const rv_optim *opt, const char *schedule_spec, const char *path)
{
    return rv_checkpoint_save_at(opt, schedule_spec, opt ? rv_optim_step_count(opt) : 0, path);
}
