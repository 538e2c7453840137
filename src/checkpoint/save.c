/* Writing a checkpoint: build the safetensors header, then write header and
   raw little-endian data (each entry as the optimizer holds it) to a temporary file that is fsynced and renamed over the
   target, so the target is always either the old file or the new one. */
#include "checkpoint/internal.h"
#include "core/atomic.h"
#include "core/error.h"
#include "core/text.h"
#include "ravine/schedule.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ssize_t (*rv_checkpoint_write_fn)(int fd, const void *buf, size_t n) = write;
int (*rv_checkpoint_fsync_fn)(int fd) = fsync;

/* ---- JSON text --------------------------------------------------------- */

typedef rv_text text;
#define put rv_text_put
#define put_n rv_text_put_n
#define putf rv_text_putf

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
        } else if (c < 0x20 || c == 0x7F) {
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
    char *name;          /* "param/w", "state/w/exp_avg", "scalar/w/mu_product" */
    const void *data;
    rv_checkpoint_dtype dtype;
    size_t n;            /* values */
    const size_t *dims;  /* the shape written: ndim dimensions ([] for ndim 0) */
    size_t ndim;
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

/* One value of `size` bytes, in a big-endian host's order, as little-endian bytes. */
static void little_endian(const unsigned char *x, size_t size, unsigned char *out)
{
    for (size_t b = 0; b < size; b++)
        out[b] = x[size - 1 - b];
}

/* CRC of an entry's values as little-endian bytes. */
static uint32_t crc_entry(const entry *e)
{
    size_t size = rv_checkpoint_dtype_size(e->dtype);
    if (rv_checkpoint_host_le() || size == 1)
        return rv_crc32(0, e->data, e->n * size);
    uint32_t crc = 0;
    unsigned char b[8];
    for (size_t i = 0; i < e->n; i++) {
        little_endian((const unsigned char *)e->data + i * size, size, b);
        crc = rv_crc32(crc, b, size);
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

typedef struct {
    const char *key;
    size_t index;
} keyed;

static int by_key(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Tensor keys must be unique: sorted, equal keys sit side by side (n log n,
   not n^2, for models with many tensors). The first pair by position is
   named. The sort carries its keys, so concurrent saves share nothing. */
static rv_status check_unique(char *const *keys, size_t n, const char *path)
{
    keyed *order = malloc((n ? n : 1) * sizeof *order);
    if (!order)
        return rv_fail(RV_ERR_NOMEM, "checkpoint '%s': out of memory", path);
    for (size_t i = 0; i < n; i++)
        order[i] = (keyed){keys[i], i};
    qsort(order, n, sizeof *order, by_key);
    size_t first = n, second = n;
    for (size_t i = 1; i < n; i++)
        if (!strcmp(order[i - 1].key, order[i].key) && order[i].index < second)
            first = order[i - 1].index, second = order[i].index;
    free(order);
    if (second < n)
        return rv_fail(RV_ERR_ARG,
                       "checkpoint '%s': tensors %zu and %zu are both named '%s'; checkpoints need "
                       "unique names",
                       path, first, second, keys[second]);
    return RV_OK;
}

/* The entries of tensor i: its parameter, then its state as layout.c lays
   it out, each pointing at the optimizer's own memory. *count is how many
   (counted only when e is NULL). */
static rv_status tensor_entries(const rv_optim *opt, const plan *p, size_t i, entry *e,
                                size_t *count, const char *path)
{
    const rv_param_view *v = &p->views[i];
    *count = 1;
    if (e) {
        if (!(e[0].name = join("param/", p->keys[i], NULL)))
            return rv_fail(RV_ERR_NOMEM, "checkpoint '%s': out of memory", path);
        e[0].data = v->param_data;
        e[0].dtype = v->dtype == RV_BF16 ? RV_DT_BF16 : RV_DT_F32;
        e[0].n = v->n;
        /* a tensor added without a shape is a vector */
        e[0].dims = v->has_shape ? v->shape : &v->n;
        e[0].ndim = v->has_shape ? v->ndim : 1;
    }
    if (!rv_checkpoint_holds_state(v))
        return RV_OK;
    const rv_optim_type *type = rv_optim_get_type(opt);
    rv_hparams h;
    rv_optim_group_hparams(opt, v->group, &h);
    rv_shape shape;
    rv_checkpoint_view_shape(v, &shape);
    rv_checkpoint_slot slots[RV_CHECKPOINT_MAX_SLOTS];
    size_t n = rv_checkpoint_slots(type, &h, &shape, v->dtype, RV_CHECKPOINT_VERSION, slots);
    *count += n;
    for (size_t k = 0; e && k < n; k++) {
        const rv_checkpoint_slot *s = &slots[k];
        entry *x = &e[1 + k];
        if (s->kind == RV_SLOT_BUFFER && v->state_precision[s->index] != s->prec)
            return rv_fail(RV_ERR_ARG, "checkpoint '%s': tensor %zu's state buffer %s is not held "
                                       "as its group's hyperparameters say",
                           path, i, s->name);
        if (!(x->name = rv_checkpoint_slot_key(p->keys[i], s)))
            return rv_fail(RV_ERR_NOMEM, "checkpoint '%s': out of memory", path);
        x->data = s->kind == RV_SLOT_MASTER   ? (const void *)v->master
                  : s->kind == RV_SLOT_BUFFER ? (const void *)v->state_data[s->index]
                  : s->kind == RV_SLOT_ABSMAX ? (const void *)v->state_absmax[s->index]
                                              : (const void *)&v->scalar[s->index];
        x->dtype = s->dtype;
        x->n = s->len;
        x->ndim = s->kind == RV_SLOT_SCALAR ? 0 : 1;
        x->dims = &x->n;
    }
    return RV_OK;
}

static rv_status make_plan(const rv_optim *opt, const char *path, plan *p)
{
    memset(p, 0, sizeof *p);
    size_t n = rv_optim_param_count(opt), n_entries = 0;
    p->n_params = n;
    p->views = calloc(n ? n : 1, sizeof *p->views);
    p->keys = calloc(n ? n : 1, sizeof *p->keys);
    if (!p->views || !p->keys)
        return rv_fail(RV_ERR_NOMEM, "checkpoint '%s': out of memory", path);
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
        if (v->step < 0 || (uint64_t)v->step > RV_CHECKPOINT_MAX_WHOLE)
            return rv_fail(RV_ERR_ARG, "checkpoint '%s': tensor %zu's step count %ld is past 2^53",
                           path, i, v->step);
        size_t k;
        tensor_entries(opt, p, i, NULL, &k, path);
        n_entries += k;
    }
    rv_status s = check_unique(p->keys, n, path);
    if (s)
        return s;
    if (!(p->entries = calloc(n_entries ? n_entries : 1, sizeof *p->entries)))
        return rv_fail(RV_ERR_NOMEM, "checkpoint '%s': out of memory", path);
    for (size_t i = 0; i < n; i++) {
        size_t k;
        s = tensor_entries(opt, p, i, &p->entries[p->n_entries], &k, path);
        /* names made before a failure are freed with the plan */
        for (size_t j = 0; j < k && p->entries[p->n_entries].name; j++)
            p->n_entries++;
        if (s)
            return s;
    }
    return RV_OK;
}

/* The JSON header, padded with spaces to a multiple of 8 bytes (as the
   safetensors writer does), header_crc32 filled in last. */
/* The caller's entries: keys non-empty, unique, UTF-8; values UTF-8. */
static rv_status check_extra(const rv_checkpoint_extra *extra, size_t n, const char *path)
{
    if (n && !extra)
        return rv_fail(RV_ERR_NULL, "checkpoint '%s': %zu extra entries but extra is NULL", path, n);
    char **keys = malloc((n ? n : 1) * sizeof *keys);
    if (!keys)
        return rv_fail(RV_ERR_NOMEM, "checkpoint '%s': out of memory", path);
    rv_status s = RV_OK;
    for (size_t i = 0; i < n && !s; i++) {
        const rv_checkpoint_extra *e = &extra[i];
        if (!e->key || !e->value)
            s = rv_fail(RV_ERR_NULL, "checkpoint '%s': extra entry %zu has a NULL %s", path, i,
                        e->key ? "value" : "key");
        else if (!e->key[0] || !rv_checkpoint_valid_utf8(e->key) || !rv_checkpoint_valid_utf8(e->value))
            s = rv_fail(RV_ERR_ARG, "checkpoint '%s': extra entry %zu's %s is %s", path, i,
                        !e->key[0] || !rv_checkpoint_valid_utf8(e->key) ? "key" : "value",
                        !e->key[0] ? "empty" : "not valid UTF-8");
        keys[i] = (char *)e->key;
    }
    if (!s) {
        s = check_unique(keys, n, path);
        if (s == RV_ERR_ARG)   /* same check as tensor names; say which entries */
            s = rv_fail(RV_ERR_ARG, "checkpoint '%s': two extra entries have the same key", path);
    }
    free(keys);
    return s;
}

static rv_status build_header(const rv_optim *opt, const plan *p, const char *schedule,
                              long schedule_step, const rv_checkpoint_extra *extra, size_t n_extra,
                              const char *path, text *t)
{
    const rv_optim_type *type = rv_optim_get_type(opt);
    put(t, "{");
    size_t offset = 0;
    for (size_t i = 0; i < p->n_entries; i++) {
        const entry *e = &p->entries[i];
        if (i)
            put(t, ",");
        put_json(t, e->name);
        size_t bytes = e->n * rv_checkpoint_dtype_size(e->dtype);
        putf(t, ":{\"dtype\":\"%s\",\"shape\":[", rv_checkpoint_dtype_name(e->dtype));
        for (size_t d = 0; d < e->ndim; d++)
            putf(t, "%s%zu", d ? "," : "", e->dims[d]);
        putf(t, "],\"data_offsets\":[%zu,%zu]}", offset, offset + bytes);
        offset += bytes;
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
        char key[64], lr[64];
        size_t need = rv_hparams_format(type, &h, NULL, 0);
        char *spec = malloc(need + 1);
        if (!spec)
            return rv_fail(RV_ERR_NOMEM, "checkpoint '%s': out of memory", path);
        /* a spec that did not come out whole is never stored cut */
        if (rv_hparams_format(type, &h, spec, need + 1) != need || strlen(spec) != need) {
            free(spec);
            return rv_fail(RV_ERR_ARG, "checkpoint '%s': group %zu's canonical spec could not be "
                                       "written whole (%zu bytes)",
                           path, g, need);
        }
        snprintf(key, sizeof key, "group/%zu/spec", g);
        meta(t, key, spec);
        free(spec);
        /* lr is also stored alone: readers that set the learning rate
           (schedules change it every step) need not parse the spec */
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
    /* schedule-free: whether the parameters hold x (eval) or y (train) */
    meta(t, "mode", rv_optim_is_training(opt) ? "train" : "eval");
    for (size_t i = 0; i < n_extra; i++) {
        char *k = join("extra/", extra[i].key, NULL);
        if (!k)
            return rv_fail(RV_ERR_NOMEM, "checkpoint '%s': out of memory", path);
        meta(t, k, extra[i].value);
        free(k);
    }
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
    while (!t->oom && t->len % 8)
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

static rv_status write_entry(rv_atomic_file *f, const entry *e)
{
    size_t size = rv_checkpoint_dtype_size(e->dtype);
    if (rv_checkpoint_host_le() || size == 1)
        return rv_atomic_write(f, e->data, e->n * size);
    unsigned char buf[4096];
    const unsigned char *x = e->data;
    for (size_t left = e->n; left;) {
        size_t k = left < sizeof buf / size ? left : sizeof buf / size;
        for (size_t i = 0; i < k; i++)
            little_endian(x + i * size, size, buf + i * size);
        rv_status s = rv_atomic_write(f, buf, k * size);
        if (s)
            return s;
        x += k * size;
        left -= k;
    }
    return RV_OK;
}

static rv_status write_file(const char *path, const text *header, const plan *p)
{
    size_t len = strlen(path) + 16;
    char *label = malloc(len);
    if (!label)
        return rv_fail(RV_ERR_NOMEM, "checkpoint '%s': out of memory", path);
    snprintf(label, len, "checkpoint '%s'", path);
    rv_atomic_file f;
    rv_status s = rv_atomic_open(&f, path, label, RV_ATOMIC_REGULAR_ONLY, rv_checkpoint_write_fn,
                                 rv_checkpoint_fsync_fn);
    if (s) {
        free(label);
        return s;
    }
    unsigned char len8[8];
    for (int b = 0; b < 8; b++)
        len8[b] = (unsigned char)((uint64_t)header->len >> (8 * b));
    s = rv_atomic_write(&f, len8, 8);
    if (!s)
        s = rv_atomic_write(&f, header->s, header->len);
    for (size_t i = 0; !s && i < p->n_entries; i++)
        s = write_entry(&f, &p->entries[i]);
    if (s)
        rv_atomic_abort(&f);
    else
        s = rv_atomic_commit(&f);
    free(label);
    return s;
}

rv_status rv_checkpoint_save_extra(const rv_optim *opt, const char *schedule_spec,
                                   long schedule_step, const rv_checkpoint_extra *extra,
                                   size_t n_extra, const char *path)
{
    if (!opt || !path)
        return rv_fail(RV_ERR_NULL, "rv_checkpoint_save: %s is NULL", opt ? "path" : "optimizer");
    if (!path[0])
        return rv_fail(RV_ERR_ARG, "rv_checkpoint_save: path is empty");
    /* counters a loader would refuse are refused here: no unloadable file */
    long steps = rv_optim_step_count(opt), skipped = rv_optim_skipped_count(opt);
    if ((uint64_t)steps > RV_CHECKPOINT_MAX_WHOLE || (uint64_t)skipped > RV_CHECKPOINT_MAX_WHOLE)
        return rv_fail(RV_ERR_ARG, "checkpoint '%s': the step count %ld (skipped %ld) is past 2^53",
                       path, steps, skipped);
    if (schedule_step < 0 || (uint64_t)schedule_step > RV_CHECKPOINT_MAX_WHOLE)
        return rv_fail(RV_ERR_ARG, "checkpoint '%s': schedule_step must be in [0, 2^53], got %ld", path,
                       schedule_step);
    rv_status s = check_extra(extra, n_extra, path);
    if (s)
        return s;
    rv_schedule *sched = NULL;
    if (schedule_spec && (s = rv_schedule_parse(schedule_spec, &sched)))
        return s;
    plan p;
    text header = {0};
    s = make_plan(opt, path, &p);
    for (size_t i = 0; !s && i < p.n_entries; i++)
        p.entries[i].crc = crc_entry(&p.entries[i]);
    if (!s)
        s = build_header(opt, &p, sched ? rv_schedule_text(sched) : "", schedule_step, extra, n_extra,
                         path, &header);
    if (!s)
        s = write_file(path, &header, &p);
    rv_text_free(&header);
    rv_schedule_free(sched);
    plan_free(&p);
    return s;
}

rv_status rv_checkpoint_save_at(const rv_optim *opt, const char *schedule_spec, long schedule_step,
                                const char *path)
{
    return rv_checkpoint_save_extra(opt, schedule_spec, schedule_step, NULL, 0, path);
}

rv_status rv_checkpoint_save(const rv_optim *opt, const char *schedule_spec, const char *path)
{
    return rv_checkpoint_save_at(opt, schedule_spec, opt ? rv_optim_step_count(opt) : 0, path);
}
