/* Reading a checkpoint: bound and parse the header (header.c), check its
   checksum and layout, match it against the optimizer, read every tensor
   into temporary buffers and check their checksums; only then change the
   optimizer, in an order that can be undone if its state allocation fails.
   Every failure leaves the optimizer as it was. Work and memory are linear
   in the file: lookups go through sorted indexes. */
#include "checkpoint/internal.h"
#include "core/error.h"
#include "optim/precision.h"
#include "ravine/schedule.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Fuzz builds (the libFuzzer convention) read past checksum mismatches so
   the fuzzer can reach the checks behind them; never set in a real build. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define CHECKSUMS_ENFORCED 0
#else
#define CHECKSUMS_ENFORCED 1
#endif

typedef rv_checkpoint_tensor tensor;

/* one tensor of the optimizer, as the file describes it */
typedef struct param_rec {
    const char *key;
    size_t group;
    long step;
    tensor *param;
    rv_precision dtype;    /* of the parameter: RV_FP32 or RV_BF16 */
    size_t n_slots;        /* entries of its state (layout.c) when it has state, else 0 */
    tensor **slots;        /* those entries */
    void **values;         /* read data: [0] the parameter, then each slot */
    size_t opt_index;      /* matching optimizer tensor */
    int matched;
} param_rec;

typedef struct reader {
    FILE *f;
    const char *name;      /* for messages */
    uint64_t file_size, header_len, data_size;
    char *header;          /* the raw header text (checksummed as is) */
    rv_checkpoint_header hdr;
    const rv_optim_type *type;
    rv_hparams *groups;    /* the file's */
    rv_hparams *final;     /* what the optimizer's groups end with (keep_hparams: their own) */
    size_t n_groups;
    int eval;              /* saved in eval mode (schedule-free's x) */
    param_rec *params;
    size_t n_params;
    param_rec **by_key;    /* params sorted by key, for matching */
    const char *optimizer, *schedule;   /* texts in the header's arena */
    rv_checkpoint_info info;
} reader;

#define FAIL(code, ...) rv_fail(code, __VA_ARGS__)

static void reader_free(reader *r)
{
    for (size_t i = 0; r->params && i < r->n_params; i++) {
        param_rec *p = &r->params[i];
        for (size_t k = 0; p->values && k <= p->n_slots; k++)
            free(p->values[k]);
        free(p->values);
        free(p->slots);
    }
    free(r->params);
    free(r->by_key);
    free(r->groups);
    free(r->final);
    rv_checkpoint_header_free(&r->hdr);
    free(r->header);
}

/* ---- bounded reads ---------------------------------------------------- */

static rv_status read_at(reader *r, uint64_t offset, void *buf, size_t n)
{
    if (offset > (uint64_t)LLONG_MAX || fseeko(r->f, (off_t)offset, SEEK_SET))
        return FAIL(RV_ERR_IO, "checkpoint '%s': cannot seek to byte %llu: %s", r->name,
                    (unsigned long long)offset, strerror(errno));
    if (n && fread(buf, 1, n, r->f) != n)
        return FAIL(RV_ERR_IO, "checkpoint '%s': cannot read %zu bytes at byte %llu%s", r->name, n,
                    (unsigned long long)offset, ferror(r->f) ? "" : " (the file shrank while reading)");
    return RV_OK;
}

static rv_status read_header(reader *r)
{
    if (fseeko(r->f, 0, SEEK_END))
        return FAIL(RV_ERR_IO, "checkpoint '%s': cannot seek: %s", r->name, strerror(errno));
    off_t size = ftello(r->f);
    if (size < 0)
        return FAIL(RV_ERR_IO, "checkpoint '%s': cannot tell its size: %s", r->name, strerror(errno));
    r->file_size = (uint64_t)size;
    if (r->file_size < 8)
        return FAIL(RV_ERR_FORMAT,
                    "checkpoint '%s': file is %llu bytes, too short for the 8-byte header length",
                    r->name, (unsigned long long)r->file_size);
    unsigned char len8[8];
    rv_status s = read_at(r, 0, len8, 8);
    if (s)
        return s;
    uint64_t n = 0;
    for (int b = 7; b >= 0; b--)
        n = n << 8 | len8[b];
    if (n > RV_CHECKPOINT_HEADER_LIMIT)
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': header length %llu exceeds the %llu-byte limit",
                    r->name, (unsigned long long)n, RV_CHECKPOINT_HEADER_LIMIT);
    if (n > r->file_size - 8)
        return FAIL(RV_ERR_FORMAT,
                    "checkpoint '%s': header length %llu is larger than the %llu bytes after it "
                    "(truncated file?)",
                    r->name, (unsigned long long)n, (unsigned long long)(r->file_size - 8));
    if (n < 2)
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': header length %llu is too small for a JSON object",
                    r->name, (unsigned long long)n);
    r->header_len = n;
    r->data_size = r->file_size - 8 - n;
    if (!(r->header = malloc((size_t)n + 1)))
        return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory for a %llu-byte header", r->name,
                    (unsigned long long)n);
    if ((s = read_at(r, 8, r->header, (size_t)n)))
        return s;
    r->header[n] = '\0';
    return RV_OK;
}

/* ---- the JSON header -------------------------------------------------- */

static int meta_by_key(const void *a, const void *b)
{
    return strcmp(((const rv_checkpoint_meta *)a)->key, ((const rv_checkpoint_meta *)b)->key);
}

static int tensor_by_name(const void *a, const void *b)
{
    return strcmp(((const tensor *)a)->name, ((const tensor *)b)->name);
}

/* Parse, then sort the tensors by name and the metadata by key: lookups
   are binary searches and duplicates sit side by side. */
static rv_status parse_json(reader *r)
{
    rv_checkpoint_header *h = &r->hdr;
    rv_status s = rv_checkpoint_parse_header(r->header, (size_t)r->header_len, r->name, h);
    if (s)
        return s;
    if (h->n_tensors)
        qsort(h->tensors, h->n_tensors, sizeof *h->tensors, tensor_by_name);
    for (size_t i = 1; i < h->n_tensors; i++)
        if (!strcmp(h->tensors[i - 1].name, h->tensors[i].name))
            return FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' appears twice in the header", r->name,
                        h->tensors[i].name);
    if (!h->has_meta)
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': header has no __metadata__ object (not a ravine checkpoint)",
                    r->name);
    if (h->n_meta)
        qsort(h->meta, h->n_meta, sizeof *h->meta, meta_by_key);
    for (size_t i = 1; i < h->n_meta; i++)
        if (!strcmp(h->meta[i - 1].key, h->meta[i].key))
            return FAIL(RV_ERR_FORMAT, "checkpoint '%s': metadata '%s' appears twice", r->name,
                        h->meta[i].key);
    return RV_OK;
}

static const char *meta_str(const reader *r, const char *key)
{
    rv_checkpoint_meta want = {key, NULL};
    const rv_checkpoint_meta *hit =
        r->hdr.n_meta ? bsearch(&want, r->hdr.meta, r->hdr.n_meta, sizeof want, meta_by_key) : NULL;
    return hit ? hit->value : NULL;
}

static rv_status need_str(const reader *r, const char *key, const char **out)
{
    if (!(*out = meta_str(r, key)))
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': metadata '%s' is missing", r->name, key);
    return RV_OK;
}

/* A whole number in [0, max] written in plain decimal. */
static rv_status need_count(const reader *r, const char *key, uint64_t max, long *out)
{
    const char *s;
    rv_status st = need_str(r, key, &s);
    if (st)
        return st;
    uint64_t v = 0;
    int ok = s[0] != '\0' && (s[0] != '0' || s[1] == '\0');
    for (const char *c = s; ok && *c; c++) {
        uint64_t d = (uint64_t)(*c - '0');
        ok = *c >= '0' && *c <= '9' && d <= max && v <= (max - d) / 10;
        v = v * 10 + d;
    }
    if (!ok)
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': metadata '%s' = '%s' is not a whole number in [0, %llu]",
                    r->name, key, s, (unsigned long long)max);
    *out = (long)v;
    return RV_OK;
}

static rv_status check_version(reader *r)
{
    const char *fmt;
    rv_status s = need_str(r, "format", &fmt);
    if (s)
        return s;
    if (strcmp(fmt, RV_CHECKPOINT_FORMAT))
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': format is '%s', expected '%s'", r->name, fmt,
                    RV_CHECKPOINT_FORMAT);
    long v;
    if ((s = need_count(r, "format_version", INT_MAX, &v)))
        return s;
    if (v > RV_CHECKPOINT_VERSION)
        return FAIL(RV_ERR_VERSION,
                    "checkpoint '%s': format version %ld is newer than this ravine reads (%d)",
                    r->name, v, RV_CHECKPOINT_VERSION);
    if (v < 1)
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': format version %ld does not exist", r->name, v);
    r->info.version = (int)v;
    return RV_OK;
}

static int parse_hex32(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return 0;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return s[8] == '\0';
}

/* header_crc32 covers all N header bytes with its own 8 digits read as
   "00000000"; every byte of the header is protected, padding included. */
static rv_status check_header_crc(reader *r)
{
    const char *stored;
    uint32_t want;
    rv_status s = need_str(r, "header_crc32", &stored);
    if (s)
        return s;
    if (!parse_hex32(stored, &want))
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': metadata header_crc32 = '%s' is not 8 lowercase hex digits",
                    r->name, stored);
    static const char tag[] = "\"header_crc32\":\"";
    char *at = NULL;
    for (char *p = r->header; (p = strstr(p, tag)); p++) {
        if (at)
            return FAIL(RV_ERR_FORMAT, "checkpoint '%s': header_crc32 appears twice in the header", r->name);
        at = p;
    }
    if (!at)
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': header_crc32 is not written as \"header_crc32\":\"...\"",
                    r->name);
    char saved[8];
    char *digits = at + sizeof tag - 1;
    memcpy(saved, digits, 8);
    memset(digits, '0', 8);
    uint32_t got = rv_crc32(0, r->header, (size_t)r->header_len);
    memcpy(digits, saved, 8);
    if (got != want && CHECKSUMS_ENFORCED)
        return FAIL(RV_ERR_CHECKSUM,
                    "checkpoint '%s': header checksum mismatch (stored %08x, computed %08x): the "
                    "header was changed or damaged",
                    r->name, (unsigned)want, (unsigned)got);
    return RV_OK;
}

/* ---- the tensor table ------------------------------------------------- */

static int by_begin(const void *a, const void *b)
{
    const tensor *x = *(const tensor *const *)a, *y = *(const tensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Bytes per element of a dtype a file of this version may hold (0: none). */
static uint64_t dtype_size(const reader *r, const char *dtype)
{
    rv_checkpoint_dtype d = rv_checkpoint_dtype_of(dtype);
    return r->info.version >= 2 || d == RV_DT_F32 ? rv_checkpoint_dtype_size(d) : 0;
}

static rv_status check_tensors(reader *r)
{
    size_t n = r->hdr.n_tensors;
    tensor **order = calloc(n ? n : 1, sizeof *order);
    if (!order)
        return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory for %zu tensors", r->name, n);
    rv_status s = RV_OK;
    for (size_t i = 0; i < n && !s; i++) {
        tensor *t = &r->hdr.tensors[i];
        uint64_t size = dtype_size(r, t->dtype);
        if (!size) {
            s = r->info.version >= 2
                    ? FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' has dtype %s; ravine reads F32, "
                                          "BF16, U8 and F64",
                           r->name, t->name, t->dtype)
                    : FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' has dtype %s; format version 1 "
                                          "holds F32 only",
                           r->name, t->name, t->dtype);
            break;
        }
        /* bounded by the file: anything larger cannot be in it */
        uint64_t numel = 1, cap = r->data_size / size;
        for (size_t d = 0; d < t->rank; d++)
            numel = t->shape[d] && numel > cap / t->shape[d] ? cap + 1 : numel * t->shape[d];
        /* (a tensor past the end is named below, in file order) */
        if (t->end <= r->data_size && numel * size != t->end - t->begin) {
            s = FAIL(RV_ERR_FORMAT,
                     "checkpoint '%s': tensor '%s' has %llu elements but data_offsets [%llu, %llu) "
                     "hold %llu bytes",
                     r->name, t->name, (unsigned long long)numel, (unsigned long long)t->begin,
                     (unsigned long long)t->end, (unsigned long long)(t->end - t->begin));
            break;
        }
        t->numel = numel;
        order[i] = t;
    }
    if (!s && n)
        qsort(order, n, sizeof *order, by_begin);
    /* in file order: the first tensor a truncation cut is named */
    uint64_t at = 0;
    for (size_t i = 0; !s && i < n; i++) {
        const tensor *t = order[i];
        if (t->end > r->data_size)
            s = FAIL(RV_ERR_FORMAT,
                     "checkpoint '%s': tensor '%s' data [%llu, %llu) extends past the %llu data bytes "
                     "(truncated file?)",
                     r->name, t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                     (unsigned long long)r->data_size);
        else if (i && t->begin < order[i - 1]->end)
            s = FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensors '%s' [%llu, %llu) and '%s' [%llu, %llu) overlap",
                     r->name, order[i - 1]->name, (unsigned long long)order[i - 1]->begin,
                     (unsigned long long)order[i - 1]->end, t->name, (unsigned long long)t->begin,
                     (unsigned long long)t->end);
        else if (t->begin > at)
            s = FAIL(RV_ERR_FORMAT, "checkpoint '%s': data bytes [%llu, %llu) belong to no tensor",
                     r->name, (unsigned long long)at, (unsigned long long)t->begin);
        else
            at = t->end;
    }
    if (!s && at != r->data_size)
        s = FAIL(RV_ERR_FORMAT, "checkpoint '%s': %llu bytes after the last tensor belong to no tensor",
                 r->name, (unsigned long long)(r->data_size - at));
    free(order);
    return s;
}

static tensor *find_tensor(reader *r, const char *name)
{
    tensor key = {.name = name};
    return r->hdr.n_tensors
               ? bsearch(&key, r->hdr.tensors, r->hdr.n_tensors, sizeof key, tensor_by_name)
               : NULL;
}

static char *join3(const char *a, const char *b, const char *c)
{
    size_t len = strlen(a) + strlen(b) + strlen(c) + 1;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%s%s%s", a, b, c);
    return s;
}

/* Claim a tensor and its checksum; *out is NULL when the file has none. */
static rv_status claim(reader *r, const char *name, tensor **out)
{
    tensor *t = find_tensor(r, name);
    *out = t;
    if (!t)
        return RV_OK;
    if (t->used)   /* two metadata tensors with the same key */
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' is described twice by the metadata",
                    r->name, name);
    char *key = join3("crc32/", name, "");
    if (!key)
        return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory", r->name);
    const char *crc = meta_str(r, key);
    rv_status s = RV_OK;
    if (!crc)
        s = FAIL(RV_ERR_FORMAT, "checkpoint '%s': metadata '%s' is missing", r->name, key);
    else if (!parse_hex32(crc, &t->crc))
        s = FAIL(RV_ERR_FORMAT, "checkpoint '%s': metadata '%s' = '%s' is not 8 lowercase hex digits",
                 r->name, key, crc);
    free(key);
    t->used = 1;
    return s;
}

/* A library message wrapped in the file's: "checkpoint 'x': metadata 'k': why". */
static rv_status nested(const reader *r, const char *key, rv_status code)
{
    char *why = strdup(rv_errmsg());
    if (!why)
        return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory", r->name);
    rv_status s = FAIL(code, "checkpoint '%s': metadata '%s': %s", r->name, key, why);
    free(why);
    return s;
}

/* The optimizer and its param groups. */
static rv_status parse_groups(reader *r)
{
    const char *name, *text;
    long count;
    rv_status s;
    if ((s = need_str(r, "optimizer", &name)))
        return s;
    if (!(r->type = rv_optim_type_find(name)))
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': unknown optimizer '%s'", r->name, name);
    /* counts are bounded by what was parsed: a group has 2 metadata
       entries, a tensor 3, so no count can ask for more memory than the
       header itself took */
    if ((s = need_count(r, "groups", r->hdr.n_meta / 2, &count)))
        return s;
    if (count < 1)
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': metadata 'groups' = '0': need at least one group", r->name);
    r->n_groups = (size_t)count;
    if (!(r->groups = calloc(r->n_groups, sizeof *r->groups)))
        return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory for %zu groups", r->name, r->n_groups);
    for (size_t g = 0; g < r->n_groups; g++) {
        char key[64];
        snprintf(key, sizeof key, "group/%zu/spec", g);
        if ((s = need_str(r, key, &text)))
            return s;
        const rv_optim_type *type;
        if ((s = rv_hparams_parse(text, &type, &r->groups[g])))
            return nested(r, key, s == RV_ERR_NOMEM ? s : RV_ERR_FORMAT);
        if (type != r->type)
            return FAIL(RV_ERR_FORMAT, "checkpoint '%s': metadata '%s' = '%s' is not a %s spec",
                        r->name, key, text, name);
        if (g == 0)
            r->optimizer = text;
        snprintf(key, sizeof key, "group/%zu/lr", g);
        if ((s = need_str(r, key, &text)))
            return s;
        char *end;
        double lr = strtod(text, &end);
        if (end == text || *end || !isfinite(lr) || lr < 0 ||
            fabs(lr - r->groups[g].lr) > 1e-8 * fabs(lr))
            return FAIL(RV_ERR_FORMAT, "checkpoint '%s': metadata '%s' = '%s' is not the group's lr",
                        r->name, key, text);
        r->groups[g].lr = lr;
    }
    return RV_OK;
}

/* The shape the file gives a tensor, as the algorithms see it (format 1
   had none: a vector). */
static void rec_shape(const reader *r, const param_rec *p, rv_shape *out)
{
    memset(out, 0, sizeof *out);
    out->n = (size_t)p->param->numel;
    if (r->info.version < 2)
        return;
    out->ndim = p->param->rank;
    out->has_shape = 1;
    for (size_t d = 0; d < p->param->rank && d < RV_MAX_DIMS; d++)
        out->dims[d] = (size_t)p->param->shape[d];
}

/* The entries of a tensor's state in this file (layout.c). */
static size_t rec_slots(const reader *r, const param_rec *p, rv_checkpoint_slot *out)
{
    rv_shape shape;
    rec_shape(r, p, &shape);
    return rv_checkpoint_slots(r->type, &r->groups[p->group], &shape, p->dtype, r->info.version, out);
}

static const char *precision_word(rv_precision p)
{
    return p == RV_BF16 ? "bf16" : p == RV_INT8 ? "int8" : "fp32";
}

/* Why a slot has the dtype and shape it has, for messages. */
static void slot_reason(const rv_checkpoint_slot *s, size_t group, char *buf, size_t size)
{
    switch (s->kind) {
    case RV_SLOT_MASTER:
        snprintf(buf, size, "a bfloat16 parameter's float32 master");
        break;
    case RV_SLOT_ABSMAX:
        snprintf(buf, size, "int8 state's block scales, one per %d values", RV_QUANT_BLOCK);
        break;
    case RV_SLOT_SCALAR:
        snprintf(buf, size, "a per-tensor scalar");
        break;
    default:
        snprintf(buf, size, "param group %zu keeps state=%s%s", group, precision_word(s->prec),
                 s->prec == RV_INT8 ? ", stored as U8 codes" : "");
    }
}

/* A present state entry: the dtype and shape its slot says. */
static rv_status check_slot(const reader *r, const param_rec *p, const rv_checkpoint_slot *sl,
                            const tensor *t)
{
    char why[96];
    slot_reason(sl, p->group, why, sizeof why);
    if (rv_checkpoint_dtype_of(t->dtype) != sl->dtype)
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' has dtype %s, expected %s (%s)",
                    r->name, t->name, t->dtype, rv_checkpoint_dtype_name(sl->dtype), why);
    int scalar = sl->kind == RV_SLOT_SCALAR;
    if (scalar ? t->rank != 0 : (t->rank != 1 || t->shape[0] != sl->len)) {
        char got[64], want[64];
        size_t dims[RV_MAX_DIMS];
        for (size_t d = 0; d < t->rank && d < RV_MAX_DIMS; d++)
            dims[d] = (size_t)t->shape[d];
        rv_checkpoint_format_shape(dims, t->rank, got, sizeof got);
        rv_checkpoint_format_shape(&sl->len, scalar ? 0 : 1, want, sizeof want);
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' has shape %s, expected %s (%s)",
                    r->name, t->name, got, want, why);
    }
    return RV_OK;
}

/* A tensor's state entries: every slot or none ("saved before its first
   step"), each of its slot's dtype and shape. */
static rv_status parse_state(reader *r, param_rec *p)
{
    const rv_hparams *h = &r->groups[p->group];
    rv_checkpoint_slot sl[RV_CHECKPOINT_MAX_SLOTS];
    tensor *found[RV_CHECKPOINT_MAX_SLOTS];
    size_t n = rec_slots(r, p, sl), present = 0, missing = n, buffers = 0;
    rv_status s = RV_OK;
    for (size_t k = 0; k < n && !s; k++) {
        char *name = rv_checkpoint_slot_key(p->key, &sl[k]);
        if (!name)
            return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory", r->name);
        s = claim(r, name, &found[k]);
        if (!s && found[k])
            s = check_slot(r, p, &sl[k], found[k]);
        free(name);
        present += found[k] != NULL;
        buffers += sl[k].kind == RV_SLOT_BUFFER;
        if (!found[k] && missing == n)
            missing = k;
    }
    if (s)
        return s;
    if (present && missing < n) {
        size_t have = 0;
        while (!found[have])
            have++;
        char *gone = rv_checkpoint_slot_key(p->key, &sl[missing]);
        if (!gone)
            return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory", r->name);
        if (sl[missing].kind == RV_SLOT_SCALAR)
            s = FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' has state but not '%s' (%s keeps it "
                                    "per tensor%s)",
                     r->name, p->key, gone, rv_optim_type_name(r->type),
                     r->info.version < 2 ? "; format version 1 did not store it, so this state cannot "
                                           "resume exactly"
                                         : "");
        else
            s = FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' is missing while '%s' is present (a "
                                    "tensor's state is stored whole or not at all)",
                     r->name, gone, found[have]->name);
        free(gone);
        return s;
    }
    if (present && !p->param->numel)
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' has state entries ('%s') but no "
                                   "elements",
                    r->name, p->key, found[0]->name);
    if (r->info.version < 2 && h->state != RV_FP32 && buffers) {
        /* the format-1 writer stored no state below float32 */
        if (present)
            return FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' has float32 state, but format "
                                       "version 1 held none for state=%s (param group %zu)",
                        r->name, p->key, precision_word(h->state), p->group);
        if (p->step > 0 && p->param->numel)
            return FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' has taken %ld steps but the file "
                                       "holds no state for it (format version 1 did not store "
                                       "state=%s), so it cannot resume exactly",
                        r->name, p->key, p->step, precision_word(h->state));
    }
    if (present) {
        if (!(p->slots = malloc(n * sizeof *p->slots)))
            return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory", r->name);
        memcpy(p->slots, found, n * sizeof *p->slots);
        p->n_slots = n;
    }
    return RV_OK;
}

/* Tensor i's group, step, parameter and state. */
static rv_status parse_param(reader *r, size_t i)
{
    param_rec *p = &r->params[i];
    char key[64];
    snprintf(key, sizeof key, "tensor/%zu", i);
    rv_status s;
    if ((s = need_str(r, key, &p->key)))
        return s;
    char *k_group = join3("param/", p->key, "/group");
    char *k_step = join3("param/", p->key, "/step");
    char *k_param = join3("param/", p->key, "");
    long group = 0, step = 0;
    if (!k_group || !k_step || !k_param)
        s = FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory", r->name);
    if (!s)
        s = need_count(r, k_group, r->n_groups - 1, &group);
    if (!s)
        s = need_count(r, k_step, RV_CHECKPOINT_MAX_WHOLE, &step);
    if (!s && !(s = claim(r, k_param, &p->param)) && !p->param)
        s = FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' is missing", r->name, k_param);
    free(k_group);
    free(k_step);
    free(k_param);
    if (s)
        return s;
    p->group = (size_t)group;
    p->step = step;
    rv_checkpoint_dtype dt = rv_checkpoint_dtype_of(p->param->dtype);
    if (dt != RV_DT_F32 && dt != RV_DT_BF16)
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' has dtype %s; a parameter is F32 or "
                                   "BF16",
                    r->name, p->param->name, p->param->dtype);
    p->dtype = dt == RV_DT_BF16 ? RV_BF16 : RV_FP32;
    if ((s = parse_state(r, p)))
        return s;
    if (!(p->values = calloc(1 + p->n_slots, sizeof *p->values)))
        return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory", r->name);
    return RV_OK;
}

/* The metadata: optimizer, groups, tensors, counters and schedule. */
static rv_status parse_meta(reader *r)
{
    rv_status s = parse_groups(r);
    long count;
    if (s || (s = need_count(r, "tensors", r->hdr.n_meta / 3, &count)))
        return s;
    r->n_params = (size_t)count;
    if (!(r->params = calloc(r->n_params ? r->n_params : 1, sizeof *r->params)))
        return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory for %zu tensors", r->name, r->n_params);
    for (size_t i = 0; i < r->n_params; i++)
        if ((s = parse_param(r, i)))
            return s;
    for (size_t i = 0; i < r->hdr.n_tensors; i++)
        if (!r->hdr.tensors[i].used)
            return FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' is not described by the metadata",
                        r->name, r->hdr.tensors[i].name);
    /* counters up to 2^53: steps beyond it would overflow the optimizer's
       own counters long before a run could end */
    long v;
    if ((s = need_count(r, "step", RV_CHECKPOINT_MAX_WHOLE, &v)))
        return s;
    r->info.step = v;
    if ((s = need_count(r, "skipped", RV_CHECKPOINT_MAX_WHOLE, &v)))
        return s;
    r->info.skipped = v;
    if ((s = need_str(r, "schedule", &r->schedule)))
        return s;
    if (r->schedule[0]) {   /* verified as it will be used */
        rv_schedule *sched;
        if ((s = rv_schedule_parse(r->schedule, &sched)))
            return nested(r, "schedule", s == RV_ERR_NOMEM ? s : RV_ERR_FORMAT);
        rv_schedule_free(sched);
    }
    if ((s = need_count(r, "schedule_step", RV_CHECKPOINT_MAX_WHOLE, &v)))
        return s;
    r->info.schedule_step = v;
    if (r->info.version >= 2) {   /* format 1 kept no mode: its parameters are training's */
        const char *mode;
        if ((s = need_str(r, "mode", &mode)))
            return s;
        if (strcmp(mode, "train") && strcmp(mode, "eval"))
            return FAIL(RV_ERR_FORMAT, "checkpoint '%s': metadata 'mode' = '%s' is neither 'train' nor "
                                       "'eval'",
                        r->name, mode);
        r->eval = !strcmp(mode, "eval");
    }
    r->info.eval_mode = r->eval;
    r->info.n_groups = r->n_groups;
    r->info.n_params = r->n_params;
    for (size_t i = 0; i < r->n_params; i++)
        r->info.numel += (size_t)r->params[i].param->numel;
    return RV_OK;
}

/* ---- matching the optimizer ------------------------------------------- */

static int rec_by_key(const void *a, const void *b)
{
    return strcmp((*(param_rec *const *)a)->key, (*(param_rec *const *)b)->key);
}

static param_rec *find_rec(const reader *r, const char *key)
{
    param_rec want = {.key = key}, *pw = &want;
    param_rec **hit = r->n_params ? bsearch(&pw, r->by_key, r->n_params, sizeof pw, rec_by_key) : NULL;
    return hit ? *hit : NULL;
}

/* The buffers among n slots, "exp_avg, exp_avg_sq" or "none", malloc'd */
static char *buffer_list(const rv_checkpoint_slot *sl, size_t n)
{
    size_t len = 5;
    for (size_t i = 0; i < n; i++)
        len += strlen(sl[i].name) + 2;
    char *buf = malloc(len);
    if (!buf)
        return NULL;
    buf[0] = '\0';
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (sl[i].kind == RV_SLOT_BUFFER) {
            if (k++)
                strcat(buf, ", ");
            strcat(buf, sl[i].name);
        }
    if (!k)
        strcpy(buf, "none");
    return buf;
}

static const char *dtype_words(rv_precision p)
{
    return p == RV_BF16 ? "bfloat16 (BF16)" : "float32 (F32)";
}

/* A file's shape with several dimensions must be the tensor's; a vector
   (or a 0-d tensor) matches any tensor of its size that has at most one
   dimension, or none given. Format 1 stored no shapes. */
static rv_status match_shape(const reader *r, const param_rec *p, const rv_param_view *v)
{
    size_t rank = p->param->rank;
    if (r->info.version < 2 || (rank < 2 && !(v->has_shape && v->ndim >= 2)))
        return RV_OK;
    int same = v->has_shape && v->ndim == rank;
    for (size_t d = 0; same && d < rank; d++)
        same = v->shape[d] == p->param->shape[d];
    if (same)
        return RV_OK;
    size_t dims[RV_MAX_DIMS];
    for (size_t d = 0; d < rank && d < RV_MAX_DIMS; d++)
        dims[d] = (size_t)p->param->shape[d];
    char got[192], want[192];
    rv_checkpoint_format_shape(dims, rank, got, sizeof got);
    rv_checkpoint_format_shape(v->has_shape ? v->shape : &v->n, v->has_shape ? v->ndim : 1, want,
                               sizeof want);
    return FAIL(RV_ERR_MISMATCH, "checkpoint '%s': tensor '%s' has shape %s, the optimizer's has %s%s",
                r->name, p->key, got, want, v->has_shape ? "" : " (added without a shape)");
}

/* The file's state must be what the optimizer will hold: the same
   buffers, of the same lengths and precisions (with keep_hparams the
   optimizer's own hyperparameters decide them). */
static rv_status match_state(const reader *r, const param_rec *p, const rv_param_view *v,
                             const rv_optim_type *type)
{
    if (!p->n_slots)
        return RV_OK;
    rv_checkpoint_slot fs[RV_CHECKPOINT_MAX_SLOTS], ws[RV_CHECKPOINT_MAX_SLOTS];
    const rv_checkpoint_slot *fb[RV_MAX_STATE], *wb[RV_MAX_STATE];
    rv_shape shape;
    rv_checkpoint_view_shape(v, &shape);
    const rv_hparams *h = &r->final[p->group];
    size_t nf = rec_slots(r, p, fs);
    size_t nw = rv_checkpoint_slots(type, h, &shape, v->dtype, RV_CHECKPOINT_VERSION, ws);
    size_t nfb = 0, nwb = 0;
    for (size_t i = 0; i < nf; i++)
        if (fs[i].kind == RV_SLOT_BUFFER)
            fb[nfb++] = &fs[i];
    for (size_t i = 0; i < nw; i++)
        if (ws[i].kind == RV_SLOT_BUFFER)
            wb[nwb++] = &ws[i];
    int same = nfb == nwb;
    for (size_t k = 0; same && k < nfb; k++)
        same = !strcmp(fb[k]->name, wb[k]->name);
    if (!same) {
        char *have = buffer_list(fs, nf), *need = buffer_list(ws, nw);
        rv_status s = have && need
                          ? FAIL(RV_ERR_MISMATCH,
                                 "checkpoint '%s': tensor '%s' has state buffers %s; this optimizer's "
                                 "hyperparameters use %s",
                                 r->name, p->key, have, need)
                          : FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory", r->name);
        free(have);
        free(need);
        return s;
    }
    for (size_t k = 0; k < nfb; k++) {
        if (fb[k]->len != wb[k]->len) {
            char dims[192];
            rv_checkpoint_format_shape(v->has_shape ? v->shape : &v->n, v->has_shape ? v->ndim : 1,
                                       dims, sizeof dims);
            return FAIL(RV_ERR_MISMATCH,
                        "checkpoint '%s': tensor '%s' keeps %zu values in '%s', the optimizer's "
                        "(shape %s) keeps %zu%s",
                        r->name, p->key, fb[k]->len, fb[k]->name, dims, wb[k]->len,
                        r->info.version < 2 ? "; format version 1 stored every state buffer as long as "
                                              "its tensor"
                                            : "");
        }
        if (fb[k]->prec != wb[k]->prec)
            return FAIL(RV_ERR_MISMATCH,
                        "checkpoint '%s': tensor '%s' keeps its state as %s (the file's param group "
                        "%zu: state=%s), the optimizer's param group %zu keeps state=%s; load "
                        "without keep_hparams to take the file's",
                        r->name, p->key, precision_word(fb[k]->prec), p->group,
                        precision_word(r->groups[p->group].state), p->group, precision_word(h->state));
    }
    return RV_OK;
}

static rv_status match(reader *r, const rv_optim *opt, const rv_checkpoint_options *o)
{
    const rv_optim_type *type = rv_optim_get_type(opt);
    if (type != r->type)
        return FAIL(RV_ERR_MISMATCH, "checkpoint '%s': saved by optimizer '%s', this optimizer is '%s'",
                    r->name, rv_optim_type_name(r->type), rv_optim_type_name(type));
    if (rv_optim_group_count(opt) != r->n_groups)
        return FAIL(RV_ERR_MISMATCH, "checkpoint '%s': has %zu param groups, the optimizer %zu",
                    r->name, r->n_groups, rv_optim_group_count(opt));
    if (rv_optim_param_count(opt) != r->n_params)
        return FAIL(RV_ERR_MISMATCH, "checkpoint '%s': has %zu tensors, the optimizer %zu", r->name,
                    r->n_params, rv_optim_param_count(opt));
    r->final = malloc(r->n_groups * sizeof *r->final);
    r->by_key = malloc((r->n_params ? r->n_params : 1) * sizeof *r->by_key);
    if (!r->final || !r->by_key)
        return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory", r->name);
    for (size_t g = 0; g < r->n_groups; g++) {
        r->final[g] = r->groups[g];
        if (o->keep_hparams)
            rv_optim_group_hparams(opt, g, &r->final[g]);
    }
    for (size_t i = 0; i < r->n_params; i++)
        r->by_key[i] = &r->params[i];
    if (r->n_params)
        qsort(r->by_key, r->n_params, sizeof *r->by_key, rec_by_key);
    for (size_t i = 0; i < r->n_params; i++) {
        rv_param_view v;
        rv_optim_param_view(opt, i, &v);
        char *key = rv_checkpoint_tensor_key(&v, i);
        if (!key)
            return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory", r->name);
        param_rec *p = find_rec(r, key);
        rv_status s = RV_OK;
        if (!p)
            s = FAIL(RV_ERR_MISMATCH, "checkpoint '%s': has no tensor '%s' (the optimizer's tensor %zu)",
                     r->name, key, i);
        else if (p->matched)
            s = FAIL(RV_ERR_MISMATCH, "checkpoint '%s': the optimizer has two tensors named '%s'",
                     r->name, key);
        else if (p->param->numel != v.n)
            s = FAIL(RV_ERR_MISMATCH,
                     "checkpoint '%s': tensor '%s' has %llu elements, the optimizer's has %zu",
                     r->name, key, (unsigned long long)p->param->numel, v.n);
        else if (p->group != v.group)
            s = FAIL(RV_ERR_MISMATCH, "checkpoint '%s': tensor '%s' is in param group %zu, the optimizer's in %zu",
                     r->name, key, p->group, v.group);
        else if (p->dtype != v.dtype)
            s = FAIL(RV_ERR_MISMATCH, "checkpoint '%s': tensor '%s' is %s in the file, the optimizer's is %s",
                     r->name, key, dtype_words(p->dtype), dtype_words(v.dtype));
        free(key);
        if (!s)
            s = match_shape(r, p, &v);
        if (!s)
            s = match_state(r, p, &v, type);
        if (s)
            return s;
        p->opt_index = i;
        p->matched = 1;
    }
    return RV_OK;
}

/* ---- data ------------------------------------------------------------- */

/* 1 if the tensor holds an int8 buffer's block scales. */
static int holds_scales(const tensor *t)
{
    size_t n = strlen(t->name), k = strlen(RV_CHECKPOINT_ABSMAX);
    return n > k && !strcmp(t->name + n - k, RV_CHECKPOINT_ABSMAX);
}

/* The first block scale in a chunk of little-endian float32 values that is
   negative or infinite (a scale is a block's largest magnitude, or NaN for a
   block holding one); -1 if none. */
static long bad_scale(const unsigned char *b, size_t k, float *value)
{
    for (size_t i = 0; i + 4 <= k; i += 4) {
        uint32_t u = (uint32_t)b[i] | (uint32_t)b[i + 1] << 8 | (uint32_t)b[i + 2] << 16 |
                     (uint32_t)b[i + 3] << 24;
        memcpy(value, &u, sizeof *value);
        if (*value < 0.0f || isinf(*value))
            return (long)(i / 4);
    }
    return -1;
}

/* Stream a tensor's bytes through the checksum; into dst when given, each
   value in the host's byte order. Block scales are checked on the way. */
static rv_status read_tensor(reader *r, const tensor *t, void *dst)
{
    int scales = holds_scales(t);
    size_t size = rv_checkpoint_dtype_size(rv_checkpoint_dtype_of(t->dtype));
    unsigned char buf[1 << 16];
    uint64_t at = t->begin;
    uint32_t crc = 0;
    while (at < t->end) {
        size_t k = t->end - at < sizeof buf ? (size_t)(t->end - at) : sizeof buf;
        rv_status s = read_at(r, 8 + r->header_len + at, buf, k);
        if (s)
            return s;
        crc = rv_crc32(crc, buf, k);
        float bad;
        long at_bad = scales ? bad_scale(buf, k, &bad) : -1;
        if (at_bad >= 0)
            return FAIL(RV_ERR_FORMAT,
                        "checkpoint '%s': tensor '%s' holds %.9g at index %llu; a block scale is "
                        "a largest magnitude (>= 0, finite, or NaN)",
                        r->name, t->name, (double)bad,
                        (unsigned long long)((at - t->begin) / 4 + (uint64_t)at_bad));
        if (dst) {
            unsigned char *out = (unsigned char *)dst + (at - t->begin);
            if (rv_checkpoint_host_le() || size == 1)
                memcpy(out, buf, k);
            else   /* the chunk holds whole values: its size is a multiple of 8 */
                for (size_t i = 0; i < k; i += size)
                    for (size_t b = 0; b < size; b++)
                        out[i + b] = buf[i + size - 1 - b];
        }
        at += k;
    }
    if (crc != t->crc && CHECKSUMS_ENFORCED)
        return FAIL(RV_ERR_CHECKSUM,
                    "checkpoint '%s': tensor '%s' checksum mismatch (stored %08x, computed %08x): its "
                    "data was changed or damaged",
                    r->name, t->name, (unsigned)t->crc, (unsigned)crc);
    return RV_OK;
}

static rv_status read_data(reader *r, int keep)
{
    for (size_t i = 0; i < r->n_params; i++) {
        param_rec *p = &r->params[i];
        for (size_t k = 0; k <= p->n_slots; k++) {
            const tensor *t = k ? p->slots[k - 1] : p->param;
            size_t bytes = (size_t)(t->end - t->begin);
            void *dst = NULL;
            if (keep && !(dst = p->values[k] = malloc(bytes ? bytes : 1)))
                return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory reading tensor '%s' (%llu elements)",
                            r->name, t->name, (unsigned long long)t->numel);
            /* scalars (F64, one value) are checked when only verifying too */
            double x = 0;
            int scalar = rv_checkpoint_dtype_of(t->dtype) == RV_DT_F64 && bytes == sizeof x;
            rv_status s = read_tensor(r, t, dst ? dst : scalar ? &x : NULL);
            if (s)
                return s;
            if (scalar && dst)
                memcpy(&x, dst, sizeof x);
            /* rv_optim_set_param_scalars takes finite values only */
            if (scalar && !isfinite(x))
                return FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' holds %.17g; a scalar must be "
                                           "finite",
                            r->name, t->name, x);
        }
    }
    return RV_OK;
}

/* ---- the change: nothing above touched the optimizer ------------------ */

/* Bytes of a held state buffer's values and, for int8, of its scales. */
static size_t held_bytes(const rv_param_view *v, size_t k, size_t *scales)
{
    size_t len = v->state_len[k];
    rv_precision prec = v->state_precision[k];
    *scales = prec == RV_INT8 ? 4 * ((len + RV_QUANT_BLOCK - 1) / RV_QUANT_BLOCK) : 0;
    return len * (prec == RV_BF16 ? 2 : prec == RV_INT8 ? 1 : 4);
}

/* Everything a tensor holds besides its parameter, as bytes: each buffer
   (and its scales), then the master. out NULL: only the count. */
static size_t pack_state(const rv_param_view *v, unsigned char *out)
{
    size_t at = 0, scales;
    for (size_t k = 0; k < v->n_state; k++) {
        size_t bytes = held_bytes(v, k, &scales);
        if (out) {
            memcpy(out + at, v->state_data[k], bytes);
            if (scales)
                memcpy(out + at + bytes, v->state_absmax[k], scales);
        }
        at += bytes + scales;
    }
    if (v->master && out)
        memcpy(out + at, v->master, v->n * sizeof(float));
    return at + (v->master ? v->n * sizeof(float) : 0);
}

static void unpack_state(const rv_param_view *v, const unsigned char *in)
{
    size_t at = 0, scales;
    for (size_t k = 0; k < v->n_state; k++) {
        size_t bytes = held_bytes(v, k, &scales);
        memcpy(v->state_data[k], in + at, bytes);
        if (scales)
            memcpy(v->state_absmax[k], in + at + bytes, scales);
        at += bytes + scales;
    }
    if (v->master)
        memcpy(v->master, in + at, v->n * sizeof(float));
}

/* What commit may have to put back: every group's hyperparameters, the
   counters, the mode, and (when the state must be rebuilt: other buffers
   or another precision) a copy of the state as held and the scalars.
   Taken before anything changes, so failing to take it changes nothing. */
typedef struct undo {
    rv_hparams *groups;
    long steps, skipped, *tensor_steps;
    int eval;
    unsigned char **state;  /* per tensor: pack_state's bytes, or NULL */
    size_t *state_bytes;
    double *scalars;        /* RV_MAX_SCALARS per tensor */
} undo;

static void undo_free(undo *u, size_t n_params)
{
    for (size_t i = 0; u->state && i < n_params; i++)
        free(u->state[i]);
    free(u->state);
    free(u->state_bytes);
    free(u->scalars);
    free(u->tensor_steps);
    free(u->groups);
}

static rv_status undo_take(const reader *r, const rv_optim *opt, int with_state, undo *u)
{
    memset(u, 0, sizeof *u);
    size_t n = r->n_params;
    u->groups = malloc(r->n_groups * sizeof *u->groups);
    u->tensor_steps = malloc((n ? n : 1) * sizeof *u->tensor_steps);
    u->state = calloc(n ? n : 1, sizeof *u->state);
    u->state_bytes = calloc(n ? n : 1, sizeof *u->state_bytes);
    u->scalars = calloc((n ? n : 1) * RV_MAX_SCALARS, sizeof *u->scalars);
    if (!u->groups || !u->tensor_steps || !u->state || !u->state_bytes || !u->scalars)
        return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory", r->name);
    for (size_t g = 0; g < r->n_groups; g++)
        rv_optim_group_hparams(opt, g, &u->groups[g]);
    u->steps = rv_optim_step_count(opt);
    u->skipped = rv_optim_skipped_count(opt);
    u->eval = !rv_optim_is_training(opt);
    for (size_t i = 0; i < n; i++) {
        rv_param_view v;
        rv_optim_param_view(opt, i, &v);
        u->tensor_steps[i] = v.step;
        memcpy(u->scalars + i * RV_MAX_SCALARS, v.scalar, sizeof v.scalar);
        if (!with_state || !rv_checkpoint_holds_state(&v))
            continue;
        size_t bytes = pack_state(&v, NULL);
        if (!(u->state[i] = malloc(bytes ? bytes : 1)))
            return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory keeping a copy of the state",
                        r->name);
        pack_state(&v, u->state[i]);
        u->state_bytes[i] = bytes;
    }
    return RV_OK;
}

/* Put back what undo_take saw. The copy of the state goes into buffers
   allocated for the old hyperparameters again; only if even that fails is
   the state lost, and the message says so. */
static rv_status undo_apply(const reader *r, rv_optim *opt, const undo *u, int had_reset,
                            rv_status why)
{
    char *reason = strdup(rv_errmsg());
    for (size_t g = 0; g < r->n_groups; g++)
        rv_optim_group_set_hparams(opt, g, &u->groups[g]);
    int lost = 0;
    if (had_reset && rv_optim_ensure_state(opt) == RV_OK) {
        for (size_t i = 0; i < r->n_params; i++) {
            rv_param_view v;
            rv_optim_param_view(opt, i, &v);
            if (u->state[i] && rv_checkpoint_holds_state(&v) && pack_state(&v, NULL) == u->state_bytes[i])
                unpack_state(&v, u->state[i]);
            rv_optim_set_param_scalars(opt, i, u->scalars + i * RV_MAX_SCALARS);
        }
    } else if (had_reset) {
        lost = 1;
    }
    for (size_t i = 0; i < r->n_params; i++)
        rv_optim_set_param_step(opt, i, u->tensor_steps[i]);
    rv_optim_set_step_count(opt, u->steps);
    rv_optim_set_skipped_count(opt, u->skipped);
    rv_optim_mark_mode(opt, u->eval);
    rv_status s = FAIL(why, "%s%s", reason ? reason : "out of memory",
                       lost ? "; the optimizer's state could not be rebuilt either and was reset" : "");
    free(reason);
    return s;
}

/* Starting values of a tensor's state, from its (loaded) parameter: what
   the optimizer gives state it allocates, for a tensor saved before its
   first step. */
static void start_state(const rv_optim_type *type, rv_optim *opt, size_t index)
{
    rv_param_view v;
    rv_optim_param_view(opt, index, &v);
    rv_hparams h;
    rv_optim_group_hparams(opt, v.group, &h);
    if (v.dtype == RV_BF16)
        rv_bf16_widen(v.param_data, v.master, v.n);
    const float *rule = v.dtype == RV_BF16 ? v.master : v.param;
    for (size_t k = 0; k < v.n_state; k++) {
        rv_state_fill f = type->state_fill ? type->state_fill(&h, k) : (rv_state_fill){0};
        if (f.from_param) {   /* such buffers are float32 copies of the parameter */
            memcpy(v.state_data[k], rule, v.state_len[k] * sizeof(float));
        } else {
            rv_buffer b = {v.state_data[k], v.state_absmax[k], v.state_precision[k],
                           type->state_kind && type->state_kind(&h, k) == RV_BUF_NONNEG};
            rv_buffer_fill(&b, 0, v.state_len[k], f.value);
        }
    }
    if (type->n_scalars && type->scalars_start) {
        double scalars[RV_MAX_SCALARS] = {0};
        type->scalars_start(&h, scalars);
        rv_optim_set_param_scalars(opt, index, scalars);
    }
}

/* The file's values into tensor p's parameter and state (layouts checked
   equal by match). */
static void copy_state(const reader *r, const param_rec *p, rv_optim *opt)
{
    rv_param_view v;
    rv_optim_param_view(opt, p->opt_index, &v);
    if (v.n)
        memcpy(v.param_data, p->values[0], v.n * (v.dtype == RV_BF16 ? 2 : 4));
    if (!p->n_slots) {
        if (rv_checkpoint_holds_state(&v))
            start_state(r->type, opt, p->opt_index);
        return;
    }
    rv_checkpoint_slot sl[RV_CHECKPOINT_MAX_SLOTS];
    rec_slots(r, p, sl);
    double scalars[RV_MAX_SCALARS] = {0};
    for (size_t k = 0; k < p->n_slots; k++) {
        const rv_checkpoint_slot *s = &sl[k];
        void *dst = s->kind == RV_SLOT_MASTER   ? (void *)v.master
                    : s->kind == RV_SLOT_BUFFER ? v.state_data[s->index]
                    : s->kind == RV_SLOT_ABSMAX ? (void *)v.state_absmax[s->index]
                                                : (void *)&scalars[s->index];
        memcpy(dst, p->values[1 + k], s->len * rv_checkpoint_dtype_size(s->dtype));
    }
    if (r->type->n_scalars)
        rv_optim_set_param_scalars(opt, p->opt_index, scalars);
}

static rv_status commit(reader *r, rv_optim *opt)
{
    const rv_optim_type *type = rv_optim_get_type(opt);
    /* A file without any state (saved before the first step) leaves every
       tensor without state, as a new optimizer has it; otherwise every
       tensor gets state (rv_optim_ensure_state), its starting values where
       the file has none. */
    int any = 0;
    for (size_t i = 0; i < r->n_params; i++)
        any |= r->params[i].n_slots > 0;
    /* state held with other buffers or another precision than the
       hyperparameters it ends with must be rebuilt, and all of it is
       dropped for a file without state */
    int reset = 0;
    for (size_t i = 0; i < r->n_params && !reset; i++) {
        rv_param_view v;
        rv_optim_param_view(opt, i, &v);
        if (!rv_checkpoint_holds_state(&v))
            continue;
        rv_shape shape;
        rv_checkpoint_view_shape(&v, &shape);
        const rv_hparams *h = &r->final[v.group];
        reset = !any || type->state_count(h, &shape) != v.n_state;
        for (size_t k = 0; k < v.n_state && !reset; k++)
            reset = rv_checkpoint_buffer_precision(type, h, k) != v.state_precision[k];
    }
    undo u;
    rv_status s = undo_take(r, opt, reset, &u);
    if (s) {
        undo_free(&u, r->n_params);
        return s;
    }
    if (reset)
        rv_optim_zero_state(opt);
    for (size_t g = 0; g < r->n_groups && !s; g++)
        s = rv_optim_group_set_hparams(opt, g, &r->final[g]);
    if (!s && any)
        s = rv_optim_ensure_state(opt);
    if (s) {
        s = undo_apply(r, opt, &u, reset, s);
        undo_free(&u, r->n_params);
        return s;
    }
    undo_free(&u, r->n_params);
    /* from here on nothing can fail */
    for (size_t i = 0; i < r->n_params; i++) {
        param_rec *p = &r->params[i];
        copy_state(r, p, opt);
        rv_optim_set_param_step(opt, p->opt_index, p->step);
    }
    rv_optim_set_step_count(opt, r->info.step);
    rv_optim_set_skipped_count(opt, r->info.skipped);
    /* the parameters hold what the file's mode says (schedule-free's x or y) */
    rv_optim_mark_mode(opt, r->eval);
    return RV_OK;
}

/* The description handed out: its texts are the caller's to free. The
   caller's own entries ("extra/<key>") sit side by side in the sorted
   metadata. */
static rv_status give_info(reader *r, rv_checkpoint_info *info)
{
    static const char prefix[] = "extra/";
    const size_t plen = sizeof prefix - 1;
    rv_checkpoint_info out = r->info;
    size_t first = 0, n = 0;
    while (first < r->hdr.n_meta && strncmp(r->hdr.meta[first].key, prefix, plen) < 0)
        first++;
    while (first + n < r->hdr.n_meta && !strncmp(r->hdr.meta[first + n].key, prefix, plen))
        n++;
    /* one allocation per text, counted so that a failure frees what was made */
    out.optimizer = strdup(r->optimizer);
    out.schedule = strdup(r->schedule);
    out.extra = calloc(n ? n : 1, sizeof *out.extra);
    out.n_extra = 0;
    out.tensors = calloc(r->n_params ? r->n_params : 1, sizeof *out.tensors);
    int ok = out.optimizer && out.schedule && out.extra && out.tensors;
    for (size_t i = 0; ok && i < n; i++) {
        char *k = strdup(r->hdr.meta[first + i].key + plen), *v = strdup(r->hdr.meta[first + i].value);
        out.extra[i] = (rv_checkpoint_extra){k, v};
        out.n_extra += k || v;
        ok = k && v;
    }
    for (size_t i = 0; ok && i < r->n_params; i++) {
        const param_rec *p = &r->params[i];
        rv_checkpoint_tensor_info *t = &out.tensors[i];
        ok = (t->key = strdup(p->key)) != NULL;
        t->group = p->group;
        t->n = (size_t)p->param->numel;
        rv_shape shape;
        rec_shape(r, p, &shape);
        t->ndim = shape.has_shape ? shape.ndim : 1;
        for (size_t d = 0; d < t->ndim; d++)
            t->shape[d] = shape.has_shape ? shape.dims[d] : shape.n;
        t->dtype = p->dtype;
        t->step = p->step;
        t->has_state = p->n_slots > 0;
    }
    if (!ok) {
        rv_checkpoint_info_free(&out);
        return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory", r->name);
    }
    *info = out;
    return RV_OK;
}

const char *rv_checkpoint_extra_value(const rv_checkpoint_info *info, const char *key)
{
    for (size_t i = 0; info && key && i < info->n_extra; i++)
        if (!strcmp(info->extra[i].key, key))
            return info->extra[i].value;
    return NULL;
}

rv_status rv_checkpoint_read_stream(FILE *f, const char *name, rv_optim *opt,
                                    const rv_checkpoint_options *options, rv_checkpoint_info *info)
{
    reader r;
    memset(&r, 0, sizeof r);
    r.f = f;
    r.name = name;
    rv_checkpoint_options defaults = {0};
    const rv_checkpoint_options *o = options ? options : &defaults;
    rv_checkpoint_info out;
    rv_status s = read_header(&r);
    if (!s)
        s = parse_json(&r);
    if (!s)
        s = check_version(&r);   /* before anything a future format may change */
    if (!s)
        s = check_header_crc(&r);
    if (!s)
        s = check_tensors(&r);
    if (!s)
        s = parse_meta(&r);
    if (!s && opt)
        s = match(&r, opt, o);
    if (!s)
        s = read_data(&r, opt != NULL);
    if (!s && info)
        s = give_info(&r, &out);   /* before the commit: it cannot be undone */
    if (!s && opt && (s = commit(&r, opt)) && info)
        rv_checkpoint_info_free(&out);
    if (!s && info)
        *info = out;
    reader_free(&r);
    return s;
}

void rv_checkpoint_info_free(rv_checkpoint_info *info)
{
    if (!info)
        return;
    free(info->optimizer);
    free(info->schedule);
    for (size_t i = 0; info->extra && i < info->n_extra; i++) {
        free((char *)info->extra[i].key);
        free((char *)info->extra[i].value);
    }
    free(info->extra);
    for (size_t i = 0; info->tensors && i < info->n_params; i++)
        free(info->tensors[i].key);
    free(info->tensors);
    info->optimizer = info->schedule = NULL;
    info->extra = NULL;
    info->n_extra = 0;
    info->tensors = NULL;
}

/* Open a regular file for reading: a FIFO would block, a device (/dev/zero)
   would never end. */
static rv_status open_and_read(const char *path, rv_optim *opt, const rv_checkpoint_options *options,
                               rv_checkpoint_info *info)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return rv_fail(RV_ERR_IO, "checkpoint '%s': cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st)) {
        int e = errno;
        close(fd);
        return rv_fail(RV_ERR_IO, "checkpoint '%s': cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return rv_fail(RV_ERR_IO, "checkpoint '%s': not a regular file (%s)", path,
                       S_ISDIR(st.st_mode)    ? "a folder"
                       : S_ISFIFO(st.st_mode) ? "a FIFO"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                       : S_ISBLK(st.st_mode)  ? "a block device"
                                              : "a socket");
    }
    int flags = fcntl(fd, F_GETFL);
    FILE *f = flags >= 0 && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        int e = errno;
        close(fd);
        return rv_fail(e == ENOMEM ? RV_ERR_NOMEM : RV_ERR_IO, "checkpoint '%s': cannot open: %s", path,
                       strerror(e));
    }
    rv_status s = rv_checkpoint_read_stream(f, path, opt, options, info);
    fclose(f);
    return s;
}

rv_status rv_checkpoint_load(rv_optim *opt, const char *path, const rv_checkpoint_options *options,
                             rv_checkpoint_info *info)
{
    if (!opt || !path)
        return rv_fail(RV_ERR_NULL, "rv_checkpoint_load: %s is NULL", opt ? "path" : "optimizer");
    if (options && options->keep_hparams != 0 && options->keep_hparams != 1)
        return rv_fail(RV_ERR_ARG, "rv_checkpoint_load: keep_hparams must be 0 or 1, got %d",
                       options->keep_hparams);
    return open_and_read(path, opt, options, info);
}

rv_status rv_checkpoint_inspect(const char *path, rv_checkpoint_info *info)
{
    if (!path)
        return rv_fail(RV_ERR_NULL, "rv_checkpoint_inspect: path is NULL");
    return open_and_read(path, NULL, NULL, info);
}
