/* Reading a checkpoint: bound and parse the header, check its checksum and
   layout, match it against the optimizer, read every tensor into temporary
   buffers and check their checksums; only then copy into the optimizer.
   Every failure before the copy leaves the optimizer as it was. */
#include "checkpoint/internal.h"
#include "core/error.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef RAVINE_HAVE_CJSON
#include <cjson/cJSON.h>

/* Fuzz builds (the libFuzzer convention) read past checksum mismatches so
   the fuzzer can reach the checks behind them; never set in a real build. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define CHECKSUMS_ENFORCED 0
#else
#define CHECKSUMS_ENFORCED 1
#endif

/* one tensor of the header's table */
typedef struct tensor {
    const char *name;
    uint64_t begin, end;   /* byte offsets in the data section */
    uint64_t numel;
    uint32_t crc;          /* stored checksum */
    int used;              /* claimed by the metadata */
} tensor;

/* one tensor of the optimizer, as the file describes it */
typedef struct param_rec {
    const char *key;
    size_t group;
    long step;
    tensor *param;
    tensor *state[4];
    size_t n_state;        /* 0: saved before its state existed */
    size_t opt_index;      /* matching optimizer tensor */
    int matched;
    float *tmp[5];         /* values read: param, then states */
} param_rec;

/* a name -> item index, sorted for binary search (headers can hold many
   entries; nothing here may take quadratic time on hostile input) */
typedef struct named {
    const char *name;
    const cJSON *item;
} named;

typedef struct reader {
    FILE *f;
    const char *name;      /* for messages */
    uint64_t file_size, header_len, data_size;
    char *header;
    cJSON *root;
    const cJSON *meta;
    named *meta_index;
    size_t n_meta;
    tensor *tensors;
    size_t n_tensors;
    const rv_optim_type *type;
    rv_hparams *groups;
    size_t n_groups;
    param_rec *params;
    size_t n_params;
    rv_checkpoint_info info;
} reader;

#define FAIL(code, ...) rv_fail(code, __VA_ARGS__)

static void reader_free(reader *r)
{
    for (size_t i = 0; r->params && i < r->n_params; i++)
        for (int k = 0; k < 5; k++)
            free(r->params[i].tmp[k]);
    free(r->params);
    free(r->groups);
    free(r->tensors);
    free(r->meta_index);
    cJSON_Delete(r->root);
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

static int by_name(const void *a, const void *b)
{
    return strcmp(((const named *)a)->name, ((const named *)b)->name);
}

/* Sorted index of an object's members; *dup = a name that occurs twice. */
static rv_status index_object(const reader *r, const cJSON *obj, named **out, size_t *n_out,
                              const char **dup)
{
    size_t n = 0;
    for (const cJSON *a = obj->child; a; a = a->next)
        n++;
    named *ix = malloc((n ? n : 1) * sizeof *ix);
    if (!ix)
        return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory", r->name);
    n = 0;
    for (const cJSON *a = obj->child; a; a = a->next)
        ix[n++] = (named){a->string ? a->string : "", a};
    qsort(ix, n, sizeof *ix, by_name);
    *dup = NULL;
    for (size_t i = 1; i < n && !*dup; i++)
        if (!strcmp(ix[i - 1].name, ix[i].name))
            *dup = ix[i].name;
    *out = ix;
    *n_out = n;
    return RV_OK;
}

static const cJSON *lookup(const named *ix, size_t n, const char *name)
{
    named key = {name, NULL};
    const named *hit = n ? bsearch(&key, ix, n, sizeof *ix, by_name) : NULL;
    return hit ? hit->item : NULL;
}

static rv_status parse_json(reader *r)
{
    if (memchr(r->header, '\0', (size_t)r->header_len))
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': header contains a NUL byte at byte %zu",
                    r->name, (size_t)((char *)memchr(r->header, '\0', (size_t)r->header_len) - r->header));
    const char *end = NULL;
    r->root = cJSON_ParseWithLengthOpts(r->header, (size_t)r->header_len, &end, 0);
    if (!r->root) {
        size_t at = end && end >= r->header ? (size_t)(end - r->header) : 0;
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': header is not valid JSON (error at byte %zu of %llu)",
                    r->name, at, (unsigned long long)r->header_len);
    }
    for (const char *p = end; p < r->header + r->header_len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return FAIL(RV_ERR_FORMAT, "checkpoint '%s': header has bytes after its JSON object (at byte %zu)",
                        r->name, (size_t)(p - r->header));
    if (!cJSON_IsObject(r->root))
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': header is not a JSON object", r->name);
    /* duplicate keys: cJSON keeps both, the format forbids them */
    const char *dup;
    named *top = NULL;
    size_t n_top;
    rv_status s = index_object(r, r->root, &top, &n_top, &dup);
    free(top);
    if (s)
        return s;
    if (dup)
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' appears twice in the header", r->name, dup);
    r->meta = cJSON_GetObjectItemCaseSensitive(r->root, "__metadata__");
    if (!cJSON_IsObject(r->meta))
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': header has no __metadata__ object (not a ravine checkpoint)",
                    r->name);
    for (const cJSON *a = r->meta->child; a; a = a->next)
        if (!cJSON_IsString(a))
            return FAIL(RV_ERR_FORMAT, "checkpoint '%s': metadata '%s' is not a string", r->name,
                        a->string);
    if ((s = index_object(r, r->meta, &r->meta_index, &r->n_meta, &dup)))
        return s;
    if (dup)
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': metadata '%s' appears twice", r->name, dup);
    return RV_OK;
}

static const char *meta_str(const reader *r, const char *key)
{
    const cJSON *v = lookup(r->meta_index, r->n_meta, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static rv_status need_str(const reader *r, const char *key, const char **out)
{
    if (!(*out = meta_str(r, key)))
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': metadata '%s' is missing", r->name, key);
    return RV_OK;
}

/* A whole number in [0, max] written in plain decimal. */
static rv_status need_count(const reader *r, const char *key, long max, long *out)
{
    const char *s;
    rv_status st = need_str(r, key, &s);
    if (st)
        return st;
    char *end;
    errno = 0;
    long v = s[0] >= '0' && s[0] <= '9' ? strtol(s, &end, 10) : -1;
    if (v < 0 || *end || errno || v > max)
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': metadata '%s' = '%s' is not a whole number in [0, %ld]",
                    r->name, key, s, max);
    *out = v;
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

/* A JSON number that is a whole number in [0, 2^53]. */
static int json_whole(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v))
        return 0;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != floor(d))
        return 0;
    *out = (uint64_t)d;
    return 1;
}

static int by_begin(const void *a, const void *b)
{
    const tensor *x = *(const tensor *const *)a, *y = *(const tensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int tensor_by_name(const void *a, const void *b)
{
    return strcmp(((const tensor *)a)->name, ((const tensor *)b)->name);
}

static rv_status parse_tensors(reader *r)
{
    size_t n = 0;
    for (const cJSON *e = r->root->child; e; e = e->next)
        n += e != r->meta;
    r->tensors = calloc(n ? n : 1, sizeof *r->tensors);
    tensor **order = calloc(n ? n : 1, sizeof *order);
    if (!r->tensors || !order) {
        free(order);
        return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory", r->name);
    }
    rv_status s = RV_OK;
    for (const cJSON *e = r->root->child; e && !s; e = e->next) {
        if (e == r->meta)
            continue;
        tensor *t = &r->tensors[r->n_tensors];
        t->name = e->string;
        const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(e, "dtype");
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
        const cJSON *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        if (!cJSON_IsObject(e) || !cJSON_IsString(dtype) || !cJSON_IsArray(shape) ||
            !cJSON_IsArray(offs)) {
            s = FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' needs dtype, shape and data_offsets",
                     r->name, t->name);
            break;
        }
        if (strcmp(dtype->valuestring, "F32")) {
            s = FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' has dtype %s; only F32 is supported",
                     r->name, t->name, dtype->valuestring);
            break;
        }
        uint64_t numel = 1, dim;
        int rank = 0;
        for (const cJSON *d = shape->child; d; d = d->next, rank++) {
            if (!json_whole(d, &dim) || rank >= 8) {
                s = FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' has a malformed shape", r->name,
                         t->name);
                break;
            }
            /* bounded by the file: anything larger cannot be in it */
            numel = dim && numel > r->data_size / 4 / dim ? r->data_size / 4 + 1 : numel * dim;
        }
        if (s)
            break;
        if (cJSON_GetArraySize(offs) != 2 || !json_whole(offs->child, &t->begin) ||
            !json_whole(offs->child->next, &t->end) || t->begin > t->end) {
            s = FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' has malformed data_offsets", r->name,
                     t->name);
            break;
        }
        if (t->end > r->data_size) {
            s = FAIL(RV_ERR_FORMAT,
                     "checkpoint '%s': tensor '%s' data [%llu, %llu) extends past the %llu data bytes "
                     "(truncated file?)",
                     r->name, t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                     (unsigned long long)r->data_size);
            break;
        }
        if (numel * 4 != t->end - t->begin) {
            s = FAIL(RV_ERR_FORMAT,
                     "checkpoint '%s': tensor '%s' has %llu elements but data_offsets [%llu, %llu) "
                     "hold %llu bytes",
                     r->name, t->name, (unsigned long long)numel, (unsigned long long)t->begin,
                     (unsigned long long)t->end, (unsigned long long)(t->end - t->begin));
            break;
        }
        t->numel = numel;
        order[r->n_tensors] = t;
        r->n_tensors++;
    }
    if (!s && r->n_tensors)
        qsort(order, r->n_tensors, sizeof *order, by_begin);
    uint64_t at = 0;
    for (size_t i = 0; !s && i < r->n_tensors; i++) {
        const tensor *t = order[i];
        if (i && t->begin < order[i - 1]->end)
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
    if (!s && r->n_tensors)   /* by name from here on, for find_tensor */
        qsort(r->tensors, r->n_tensors, sizeof *r->tensors, tensor_by_name);
    return s;
}

static tensor *find_tensor(reader *r, const char *name)
{
    tensor key = {.name = name};
    return r->n_tensors ? bsearch(&key, r->tensors, r->n_tensors, sizeof key, tensor_by_name) : NULL;
}

static char *join3(const char *a, const char *b, const char *c)
{
    size_t len = strlen(a) + strlen(b) + strlen(c) + 1;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%s%s%s", a, b, c);
    return s;
}

/* Claim a tensor and its checksum; NULL name means "must not exist". */
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

/* The metadata: optimizer, groups, tensors and counters. */
static rv_status parse_meta(reader *r)
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
    if ((s = need_count(r, "groups", (long)(r->n_meta / 2), &count)))
        return s;
    if (count < 1)
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': metadata 'groups' = '0': need at least one group", r->name);
    r->n_groups = (size_t)count;
    if (!(r->groups = calloc(r->n_groups, sizeof *r->groups)))
        return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory", r->name);
    for (size_t g = 0; g < r->n_groups; g++) {
        char key[64];
        snprintf(key, sizeof key, "group/%zu/spec", g);
        if ((s = need_str(r, key, &text)))
            return s;
        const rv_optim_type *type;
        if ((s = rv_hparams_parse(text, &type, &r->groups[g]))) {
            char detail[512];
            snprintf(detail, sizeof detail, "%s", rv_errmsg());
            return FAIL(RV_ERR_FORMAT, "checkpoint '%s': metadata '%s': %s", r->name, key, detail);
        }
        if (type != r->type)
            return FAIL(RV_ERR_FORMAT, "checkpoint '%s': metadata '%s' = '%s' is not a %s spec",
                        r->name, key, text, name);
        if (g == 0)
            snprintf(r->info.optimizer, sizeof r->info.optimizer, "%s", text);
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
    if ((s = need_count(r, "tensors", (long)(r->n_meta / 3), &count)))
        return s;
    r->n_params = (size_t)count;
    if (!(r->params = calloc(r->n_params ? r->n_params : 1, sizeof *r->params)))
        return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory", r->name);
    for (size_t i = 0; i < r->n_params; i++) {
        param_rec *p = &r->params[i];
        char key[64];
        snprintf(key, sizeof key, "tensor/%zu", i);
        if ((s = need_str(r, key, &p->key)))
            return s;
        char *k_group = join3("param/", p->key, "/group");
        char *k_step = join3("param/", p->key, "/step");
        char *k_param = join3("param/", p->key, "");
        long group = 0, step = 0;
        if (!k_group || !k_step || !k_param)
            s = FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory", r->name);
        if (!s)
            s = need_count(r, k_group, (long)r->n_groups - 1, &group);
        if (!s)
            s = need_count(r, k_step, LONG_MAX, &step);
        if (!s && !(s = claim(r, k_param, &p->param)) && !p->param)
            s = FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' is missing", r->name, k_param);
        free(k_group);
        free(k_step);
        free(k_param);
        if (s)
            return s;
        p->group = (size_t)group;
        p->step = step;
        /* state: every buffer the group's hyperparameters use, or none */
        const rv_hparams *h = &r->groups[p->group];
        size_t want = rv_state_count(r->type, h), found = 0;
        for (size_t k = 0; k < want; k++) {
            char *k_state = join3("state/", p->key, "/");
            char *full = k_state ? join3(k_state, rv_state_name(r->type, h, k), "") : NULL;
            free(k_state);
            if (!full)
                return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory", r->name);
            s = claim(r, full, &p->state[k]);
            if (!s && p->state[k] && p->state[k]->numel != p->param->numel)
                s = FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' has %llu elements, its parameter %llu",
                         r->name, full, (unsigned long long)p->state[k]->numel,
                         (unsigned long long)p->param->numel);
            if (!s && !p->state[k] && found)
                s = FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' is missing", r->name, full);
            if (!s && p->state[k] && k && !found)
                s = FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' is present but '%s' state before it is not",
                         r->name, full, rv_state_name(r->type, h, 0));
            free(full);
            if (s)
                return s;
            found += p->state[k] != NULL;
        }
        p->n_state = found;
    }
    for (size_t i = 0; i < r->n_tensors; i++)
        if (!r->tensors[i].used)
            return FAIL(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' is not described by the metadata",
                        r->name, r->tensors[i].name);
    long v;
    if ((s = need_count(r, "step", LONG_MAX, &v)))
        return s;
    r->info.step = v;
    if ((s = need_count(r, "skipped", LONG_MAX, &v)))
        return s;
    r->info.skipped = v;
    if ((s = need_str(r, "schedule", &text)))
        return s;
    if (strlen(text) >= sizeof r->info.schedule)
        return FAIL(RV_ERR_FORMAT, "checkpoint '%s': metadata 'schedule' is longer than %d bytes",
                    r->name, RV_CHECKPOINT_TEXT_MAX - 1);
    snprintf(r->info.schedule, sizeof r->info.schedule, "%s", text);
    if ((s = need_count(r, "schedule_step", LONG_MAX, &v)))
        return s;
    r->info.schedule_step = v;
    r->info.n_groups = r->n_groups;
    r->info.n_params = r->n_params;
    for (size_t i = 0; i < r->n_params; i++)
        r->info.numel += (size_t)r->params[i].param->numel;
    return RV_OK;
}

/* ---- matching the optimizer ------------------------------------------- */

static void state_list(const rv_optim_type *type, const rv_hparams *h, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < rv_state_count(type, h) && used < size; k++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", k ? ", " : "",
                                 rv_state_name(type, h, k));
    if (!rv_state_count(type, h))
        snprintf(buf, size, "none");
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
    if (o->keep_hparams)
        for (size_t g = 0; g < r->n_groups; g++)
            rv_optim_group_hparams(opt, g, &r->groups[g]);
    for (size_t i = 0; i < r->n_params; i++) {
        rv_param_view v;
        rv_optim_param_view(opt, i, &v);
        char *key = rv_checkpoint_tensor_key(&v, i);
        if (!key)
            return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory", r->name);
        param_rec *p = NULL;
        for (size_t j = 0; j < r->n_params && !p; j++)
            if (!strcmp(r->params[j].key, key))
                p = &r->params[j];
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
        free(key);
        if (s)
            return s;
        p->opt_index = i;
        p->matched = 1;
        /* keep_hparams: the file's state must be what these hyperparameters use */
        const rv_hparams *h = &r->groups[p->group];
        size_t want = rv_state_count(type, h);
        int same = p->n_state == 0 || p->n_state == want;
        for (size_t k = 0; same && k < p->n_state; k++) {
            char *tail = strrchr(p->state[k]->name, '/');
            same = tail && !strcmp(tail + 1, rv_state_name(type, h, k));
        }
        if (!same) {
            char need[128];
            state_list(type, h, need, sizeof need);
            return FAIL(RV_ERR_MISMATCH,
                        "checkpoint '%s': tensor '%s' has %zu state buffers; this optimizer's "
                        "hyperparameters use %s",
                        r->name, p->key, p->n_state, need);
        }
    }
    return RV_OK;
}

/* ---- data ------------------------------------------------------------- */

static int host_little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

/* Stream a tensor's bytes through the checksum; into dst when given. */
static rv_status read_tensor(reader *r, const tensor *t, float *dst)
{
    unsigned char buf[1 << 16];
    uint64_t at = t->begin;
    uint32_t crc = 0;
    while (at < t->end) {
        size_t k = t->end - at < sizeof buf ? (size_t)(t->end - at) : sizeof buf;
        rv_status s = read_at(r, 8 + r->header_len + at, buf, k);
        if (s)
            return s;
        crc = rv_crc32(crc, buf, k);
        if (dst) {
            unsigned char *out = (unsigned char *)dst + (at - t->begin);
            if (host_little_endian())
                memcpy(out, buf, k);
            else
                for (size_t i = 0; i < k; i += 4)
                    for (int b = 0; b < 4; b++)
                        out[i + b] = buf[i + 3 - b];
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
        tensor *ts[5] = {p->param, p->state[0], p->state[1], p->state[2], p->state[3]};
        for (size_t k = 0; k < 1 + p->n_state; k++) {
            float *dst = NULL;
            if (keep && !(dst = p->tmp[k] = malloc(ts[k]->numel ? (size_t)ts[k]->numel * 4 : 1)))
                return FAIL(RV_ERR_NOMEM, "checkpoint '%s': out of memory reading tensor '%s'",
                            r->name, ts[k]->name);
            rv_status s = read_tensor(r, ts[k], dst);
            if (s)
                return s;
        }
    }
    return RV_OK;
}

/* ---- the copy: nothing above changed the optimizer -------------------- */

static rv_status commit(reader *r, rv_optim *opt)
{
    const rv_optim_type *type = rv_optim_get_type(opt);
    /* buffers allocated for other hyperparameters must go first */
    int reset = 0;
    for (size_t i = 0; i < r->n_params; i++) {
        rv_param_view v;
        rv_optim_param_view(opt, i, &v);
        size_t have = 0;
        while (have < 4 && v.state[have])
            have++;
        if (have && have != rv_state_count(type, &r->groups[v.group]))
            reset = 1;
    }
    rv_status s;
    if (reset && (s = rv_optim_zero_state(opt)))
        return s;
    for (size_t g = 0; g < r->n_groups; g++)
        if ((s = rv_optim_group_set_hparams(opt, g, &r->groups[g])))
            return s;
    if ((s = rv_optim_ensure_state(opt)))
        return s;
    for (size_t i = 0; i < r->n_params; i++) {
        param_rec *p = &r->params[i];
        rv_param_view v;
        rv_optim_param_view(opt, p->opt_index, &v);
        if (v.n)
            memcpy(v.param, p->tmp[0], v.n * sizeof(float));
        const rv_hparams *h = &r->groups[p->group];
        if (p->n_state) {
            for (size_t k = 0; k < p->n_state; k++)
                memcpy(v.state[k], p->tmp[1 + k], v.n * sizeof(float));
        } else if (v.n && rv_state_count(type, h)) {
            rv_state_init(type, h, v.n, v.state);   /* saved before its first step */
        }
        rv_optim_set_param_step(opt, p->opt_index, p->step);
    }
    rv_optim_set_step_count(opt, r->info.step);
    rv_optim_set_skipped_count(opt, r->info.skipped);
    return RV_OK;
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
    rv_status s = read_header(&r);
    if (!s)
        s = parse_json(&r);
    if (!s)
        s = check_version(&r);   /* before anything a future format may change */
    if (!s)
        s = check_header_crc(&r);
    if (!s)
        s = parse_tensors(&r);
    if (!s)
        s = parse_meta(&r);
    if (!s && opt)
        s = match(&r, opt, o);
    if (!s)
        s = read_data(&r, opt != NULL);
    if (!s && opt)
        s = commit(&r, opt);
    if (!s && info)
        *info = r.info;
    reader_free(&r);
    return s;
}

#else /* no libcjson */

rv_status rv_checkpoint_read_stream(FILE *f, const char *name, rv_optim *opt,
                                    const rv_checkpoint_options *options, rv_checkpoint_info *info)
{
    (void)f, (void)opt, (void)options, (void)info;
    return rv_fail(RV_ERR_IO, "checkpoint '%s': this ravine was built without libcjson and cannot read checkpoints",
                   name);
}

#endif

static rv_status open_and_read(const char *path, rv_optim *opt, const rv_checkpoint_options *options,
                               rv_checkpoint_info *info)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return rv_fail(RV_ERR_IO, "checkpoint '%s': cannot open: %s", path, strerror(errno));
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
