/* The JSON header of a checkpoint, read by a strict parser of exactly the
   safetensors layout: an object of tensor entries ({"dtype", "shape",
   "data_offsets"}) and one "__metadata__" object of strings.

   Why not a general JSON library: a general tree costs some 80 bytes per
   value, so a hostile 100 MB header of tiny values asks for gigabytes; and
   where JSON leaves room (duplicate keys, a byte-order mark, "\u0000" in a
   name, invalid UTF-8, lone surrogates) readers disagree, so a file could
   mean one thing to ravine and another to Python's json. This parser takes
   three passes over the text: the first checks it is strict JSON (any
   shape, nested at most 64 deep), the second counts the layout's records,
   the third fills them; so it allocates exactly what it needs: the
   unescaped strings (at most the header's length) and one small record per
   tensor, dimension and metadata entry. Anything a reader could read two
   ways is refused. */
#include "checkpoint/internal.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *text, *p, *end;
    const char *name;          /* the file, for messages */
    rv_checkpoint_header *out;
    int store;                 /* 0: count only; 1: fill out */
    char *arena;               /* unescaped strings, one after another */
    size_t arena_used;
    size_t n_tensors, n_meta, n_dims;
    int has_meta;
} parser;

static rv_status syntax(const parser *ps, const char *what)
{
    return rv_fail(RV_ERR_FORMAT, "checkpoint '%s': header is not valid JSON: %s (error at byte %zu of %zu)",
                   ps->name, what, (size_t)(ps->p - ps->text), (size_t)(ps->end - ps->text));
}

static void skip_space(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int peek(const parser *ps) { return ps->p < ps->end ? (unsigned char)*ps->p : -1; }

static rv_status expect(parser *ps, char c, const char *what)
{
    skip_space(ps);
    if (peek(ps) != (unsigned char)c)
        return syntax(ps, what);
    ps->p++;
    return RV_OK;
}

/* After a member or an item: 1 when a ',' announces another, 0 when the
   closing bracket ends the list (consumed), or 0 with *s the syntax error. */
static int more_items(parser *ps, char close, rv_status *s)
{
    skip_space(ps);
    if (peek(ps) == ',') {
        ps->p++;
        return 1;
    }
    *s = expect(ps, close, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    return 0;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return 0;
        v = v << 4 | (unsigned)d;
    }
    *out = v;
    return 1;
}

/* Length of the valid UTF-8 sequence at p (< end), 0 if invalid. */
static size_t utf8_length(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0], min;
    size_t more;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) more = 1, min = 0x80, c &= 0x1F;
    else if ((c & 0xF0) == 0xE0) more = 2, min = 0x800, c &= 0x0F;
    else if ((c & 0xF8) == 0xF0) more = 3, min = 0x10000, c &= 0x07;
    else return 0;
    if ((size_t)(end - p) <= more)
        return 0;
    for (size_t k = 1; k <= more; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (p[k] & 0x3F);
    }
    if (c < min || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
        return 0;
    return more + 1;
}

static size_t put_utf8(char *out, unsigned c)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | c >> 6);
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | c >> 12);
        out[1] = (char)(0x80 | (c >> 6 & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | c >> 18);
    out[1] = (char)(0x80 | (c >> 12 & 0x3F));
    out[2] = (char)(0x80 | (c >> 6 & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* A JSON string at the cursor: its unescaped text goes to the arena
   (NUL-terminated) and *out points at it. The unescaped text with its NUL is
   never longer than the quoted one, so the arena never outgrows the header. */
static rv_status parse_string(parser *ps, const char **out)
{
    skip_space(ps);
    if (peek(ps) != '"')
        return syntax(ps, "expected a string");
    ps->p++;
    char *dst = ps->arena + ps->arena_used;
    size_t len = 0;
    for (;;) {
        if (ps->p >= ps->end)
            return syntax(ps, "unterminated string");
        unsigned char c = (unsigned char)*ps->p;
        if (c == '"') {
            ps->p++;
            break;
        }
        if (c < 0x20)
            return syntax(ps, "a control byte inside a string (it must be escaped)");
        if (c != '\\') {
            size_t k = utf8_length((const unsigned char *)ps->p, (const unsigned char *)ps->end);
            if (!k)
                return syntax(ps, "bytes that are not UTF-8");
            memcpy(dst + len, ps->p, k);
            len += k;
            ps->p += k;
            continue;
        }
        if (ps->end - ps->p < 2)
            return syntax(ps, "unterminated string");
        char e = ps->p[1];
        static const char plain[] = "\"\\/bfnrt", means[] = "\"\\/\b\f\n\r\t";
        const char *hit = e ? strchr(plain, e) : NULL;
        if (hit) {
            dst[len] = means[hit - plain];
            len++;
            ps->p += 2;
            continue;
        }
        unsigned u, lo;
        if (e != 'u' || ps->end - ps->p < 6 || !hex4(ps->p + 2, &u))
            return syntax(ps, "an invalid escape");
        if (u == 0)
            return syntax(ps, "a \\u0000 escape (a NUL, which names and values cannot hold)");
        if (u >= 0xDC00 && u <= 0xDFFF)
            return syntax(ps, "a lone UTF-16 low surrogate escape");
        if (u >= 0xD800 && u <= 0xDBFF) {
            if (ps->end - ps->p < 12 || ps->p[6] != '\\' || ps->p[7] != 'u' ||
                !hex4(ps->p + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                return syntax(ps, "a UTF-16 high surrogate escape without its low half");
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            ps->p += 6;
        }
        ps->p += 6;
        len += put_utf8(dst + len, u);
    }
    dst[len] = '\0';
    ps->arena_used += len + 1;
    *out = dst;
    return RV_OK;
}

/* ---- pass 1: strict JSON, any shape ------------------------------------ */

#define MAX_NESTING 64

static rv_status skip_number(parser *ps)
{
    const char *b = ps->p;
    if (peek(ps) == '-')
        ps->p++;
    if (peek(ps) == '0') {
        ps->p++;
    } else if (peek(ps) >= '1' && peek(ps) <= '9') {
        while (peek(ps) >= '0' && peek(ps) <= '9')
            ps->p++;
    } else {
        return syntax(ps, ps->p == b ? "expected a value" : "a malformed number");
    }
    if (peek(ps) == '.') {
        ps->p++;
        if (!(peek(ps) >= '0' && peek(ps) <= '9'))
            return syntax(ps, "a malformed number");
        while (peek(ps) >= '0' && peek(ps) <= '9')
            ps->p++;
    }
    if (peek(ps) == 'e' || peek(ps) == 'E') {
        ps->p++;
        if (peek(ps) == '+' || peek(ps) == '-')
            ps->p++;
        if (!(peek(ps) >= '0' && peek(ps) <= '9'))
            return syntax(ps, "a malformed number");
        while (peek(ps) >= '0' && peek(ps) <= '9')
            ps->p++;
    }
    return RV_OK;
}

/* Any JSON value, checked and skipped. Strings land in the arena, which is
   rewound: only their validity matters here. */
static rv_status skip_value(parser *ps, int depth)
{
    if (depth > MAX_NESTING)
        return syntax(ps, "values nested more than 64 deep");
    skip_space(ps);
    int c = peek(ps);
    rv_status s;
    const char *str;
    if (c == '"') {
        size_t mark = ps->arena_used;
        s = parse_string(ps, &str);
        ps->arena_used = mark;
        return s;
    }
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        ps->p++;
        skip_space(ps);
        if (peek(ps) == close) {
            ps->p++;
            return RV_OK;
        }
        for (;;) {
            if (c == '{') {
                size_t mark = ps->arena_used;
                if ((s = parse_string(ps, &str)))
                    return s;
                ps->arena_used = mark;
                if ((s = expect(ps, ':', "expected ':'")))
                    return s;
            }
            if ((s = skip_value(ps, depth + 1)))
                return s;
            if (!more_items(ps, close, &s))
                return s;
        }
    }
    static const char *const words[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(ps->end - ps->p) >= n && !memcmp(ps->p, words[i], n)) {
            ps->p += n;
            return RV_OK;
        }
    }
    return skip_number(ps);
}

/* The whole header is one JSON object and nothing else: the first byte is
   '{' (no byte-order mark, no leading space), only whitespace follows it.
   Notes whether a top-level "__metadata__" key is present. */
static rv_status validate(parser *ps)
{
    if (peek(ps) != '{')
        return syntax(ps, ps->end - ps->p >= 3 && !memcmp(ps->p, "\xEF\xBB\xBF", 3)
                              ? "a UTF-8 byte-order mark before the '{'"
                              : "the header must start with '{'");
    ps->p++;
    rv_status s;
    skip_space(ps);
    if (peek(ps) == '}') {
        ps->p++;
    } else {
        for (;;) {
            const char *key;
            size_t mark = ps->arena_used;
            if ((s = parse_string(ps, &key)))
                return s;
            ps->has_meta |= !strcmp(key, "__metadata__");
            ps->arena_used = mark;
            if ((s = expect(ps, ':', "expected ':'")) || (s = skip_value(ps, 1)))
                return s;
            if (!more_items(ps, '}', &s)) {
                if (s)
                    return s;
                break;
            }
        }
    }
    skip_space(ps);
    if (ps->p < ps->end)
        return rv_fail(RV_ERR_FORMAT, "checkpoint '%s': header has bytes after its JSON object (at byte %zu)",
                       ps->name, (size_t)(ps->p - ps->text));
    if (!ps->has_meta)
        return rv_fail(RV_ERR_FORMAT,
                       "checkpoint '%s': header has no __metadata__ object (not a ravine checkpoint)",
                       ps->name);
    return RV_OK;
}

/* ---- passes 2 and 3: the safetensors layout ---------------------------- */

/* A whole number written with digits only (safetensors' offsets and
   dimensions), at most 2^53 so every reader gets the same integer. */
static int parse_whole(parser *ps, uint64_t *out)
{
    skip_space(ps);
    const char *b = ps->p;
    uint64_t v = 0;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
        v = v * 10 + (uint64_t)(*ps->p - '0');
        if (v > RV_CHECKPOINT_MAX_WHOLE)
            return 0;
        ps->p++;
    }
    if (ps->p == b || (ps->p < ps->end && (*ps->p == '.' || *ps->p == 'e' || *ps->p == 'E')))
        return 0;
    *out = v;
    return 1;
}

/* [n, n, ...] of whole numbers into dims (at most cap); *count = how many.
   Anything else is a malformed field. */
static rv_status parse_whole_array(parser *ps, const char *tensor, const char *field, uint64_t *dims,
                                   size_t cap, size_t *count)
{
    *count = 0;
    skip_space(ps);
    int ok = peek(ps) == '[';
    if (ok) {
        ps->p++;
        skip_space(ps);
        if (peek(ps) == ']') {
            ps->p++;
            return RV_OK;
        }
    }
    while (ok) {
        uint64_t v = 0;
        ok = parse_whole(ps, &v) && *count < cap;
        if (!ok)
            break;
        if (dims)
            dims[*count] = v;
        (*count)++;
        skip_space(ps);
        if (peek(ps) == ']') {
            ps->p++;
            return RV_OK;
        }
        ok = peek(ps) == ',';
        ps->p++;
    }
    return rv_fail(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' has a malformed %s", ps->name, tensor,
                   field);
}

/* {"dtype": "F32", "shape": [...], "data_offsets": [b, e]}, each once,
   nothing else (safetensors' own reader would ignore other fields, Python's
   json would keep the last of two: neither may happen here). */
static rv_status parse_tensor(parser *ps, const char *name)
{
    rv_checkpoint_tensor *t = ps->store ? &ps->out->tensors[ps->n_tensors] : NULL;
    skip_space(ps);
    if (peek(ps) != '{')
        return rv_fail(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' needs dtype, shape and data_offsets",
                       ps->name, name);
    ps->p++;
    if (t) {
        memset(t, 0, sizeof *t);
        t->name = name;
        t->shape = ps->out->dims + ps->n_dims;
    }
    int have[3] = {0, 0, 0};
    rv_status s;
    skip_space(ps);
    if (peek(ps) == '}') {
        ps->p++;
    } else {
        for (;;) {
            const char *field;
            if ((s = parse_string(ps, &field)))
                return s;
            int which = !strcmp(field, "dtype") ? 0 : !strcmp(field, "shape") ? 1
                      : !strcmp(field, "data_offsets") ? 2 : -1;
            if (which < 0)
                return rv_fail(RV_ERR_FORMAT,
                               "checkpoint '%s': tensor '%s' has a field other than dtype, shape and "
                               "data_offsets",
                               ps->name, name);
            if (have[which]++)
                return rv_fail(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' has '%s' twice", ps->name,
                               name, which == 0 ? "dtype" : which == 1 ? "shape" : "data_offsets");
            if ((s = expect(ps, ':', "expected ':'")))
                return s;
            if (which == 0) {
                skip_space(ps);
                if (peek(ps) != '"')
                    return rv_fail(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s': dtype must be a string",
                                   ps->name, name);
                const char *dtype;
                if ((s = parse_string(ps, &dtype)))
                    return s;
                if (t)
                    t->dtype = dtype;
            } else if (which == 1) {
                size_t rank;
                if ((s = parse_whole_array(ps, name, "shape", t ? ps->out->dims + ps->n_dims : NULL,
                                           RV_CHECKPOINT_MAX_RANK, &rank)))
                    return s;
                ps->n_dims += rank;
                if (t)
                    t->rank = rank;
            } else {
                uint64_t offs[2] = {0, 0};
                size_t n;
                if ((s = parse_whole_array(ps, name, "data_offsets", offs, 2, &n)))
                    return s;
                if (n != 2 || offs[0] > offs[1])
                    return rv_fail(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' has malformed data_offsets",
                                   ps->name, name);
                if (t)
                    t->begin = offs[0], t->end = offs[1];
            }
            if (!more_items(ps, '}', &s)) {
                if (s)
                    return s;
                break;
            }
        }
    }
    if (!have[0] || !have[1] || !have[2])
        return rv_fail(RV_ERR_FORMAT, "checkpoint '%s': tensor '%s' needs dtype, shape and data_offsets",
                       ps->name, name);
    ps->n_tensors++;
    return RV_OK;
}

/* "__metadata__": {"key": "value", ...}, strings only. */
static rv_status parse_metadata(parser *ps)
{
    skip_space(ps);
    if (peek(ps) != '{')
        return rv_fail(RV_ERR_FORMAT, "checkpoint '%s': __metadata__ is not an object", ps->name);
    ps->p++;
    skip_space(ps);
    if (peek(ps) == '}') {
        ps->p++;
        return RV_OK;
    }
    rv_status s;
    for (;;) {
        const char *key, *value;
        if ((s = parse_string(ps, &key)))
            return s;
        if ((s = expect(ps, ':', "expected ':'")))
            return s;
        skip_space(ps);
        if (peek(ps) != '"')
            return rv_fail(RV_ERR_FORMAT, "checkpoint '%s': metadata '%s' is not a string", ps->name, key);
        if ((s = parse_string(ps, &value)))
            return s;
        if (ps->store)
            ps->out->meta[ps->n_meta] = (rv_checkpoint_meta){key, value};
        ps->n_meta++;
        if (!more_items(ps, '}', &s))
            return s;
    }
}

/* The layout, on text validate() accepted. */
static rv_status parse_root(parser *ps)
{
    ps->p = ps->text + 1;
    rv_status s;
    skip_space(ps);
    if (peek(ps) == '}')
        return RV_OK;
    for (;;) {
        const char *key;
        if ((s = parse_string(ps, &key)) || (s = expect(ps, ':', "expected ':'")))
            return s;
        if (!strcmp(key, "__metadata__")) {
            if (ps->has_meta++)
                return rv_fail(RV_ERR_FORMAT, "checkpoint '%s': __metadata__ appears twice in the header",
                               ps->name);
            s = parse_metadata(ps);
        } else {
            s = parse_tensor(ps, key);
        }
        if (s)
            return s;
        skip_space(ps);
        if (peek(ps) != ',')
            return RV_OK;
        ps->p++;
    }
}

void rv_checkpoint_header_free(rv_checkpoint_header *h)
{
    free(h->arena);
    free(h->tensors);
    free(h->meta);
    free(h->dims);
    memset(h, 0, sizeof *h);
}

rv_status rv_checkpoint_parse_header(const char *text, size_t len, const char *name,
                                     rv_checkpoint_header *out)
{
    memset(out, 0, sizeof *out);
    const char *nul = memchr(text, '\0', len);
    if (nul)
        return rv_fail(RV_ERR_FORMAT, "checkpoint '%s': header contains a NUL byte at byte %zu", name,
                       (size_t)(nul - text));
    if (!(out->arena = malloc(len ? len : 1)))
        return rv_fail(RV_ERR_NOMEM, "checkpoint '%s': out of memory for the strings of a %zu-byte header",
                       name, len);
    parser check = {text, text, text + len, name, out, 0, out->arena, 0, 0, 0, 0, 0};
    parser ps = {text, text, text + len, name, out, 0, out->arena, 0, 0, 0, 0, 0};
    rv_status s = validate(&check);
    if (!s)
        s = parse_root(&ps);
    if (s) {
        rv_checkpoint_header_free(out);
        return s;
    }
    out->tensors = calloc(ps.n_tensors ? ps.n_tensors : 1, sizeof *out->tensors);
    out->meta = calloc(ps.n_meta ? ps.n_meta : 1, sizeof *out->meta);
    out->dims = calloc(ps.n_dims ? ps.n_dims : 1, sizeof *out->dims);
    if (!out->tensors || !out->meta || !out->dims) {
        rv_checkpoint_header_free(out);
        return rv_fail(RV_ERR_NOMEM, "checkpoint '%s': out of memory for the records of a %zu-byte header",
                       name, len);
    }
    parser fill = {text, text, text + len, name, out, 1, out->arena, 0, 0, 0, 0, 0};
    if ((s = parse_root(&fill))) {   /* cannot differ from the first pass */
        rv_checkpoint_header_free(out);
        return s;
    }
    out->n_tensors = fill.n_tensors;
    out->n_meta = fill.n_meta;
    out->has_meta = fill.has_meta;
    return RV_OK;
}
