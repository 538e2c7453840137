/* A checkpoint header means one thing to every reader: whatever JSON
   leaves to the reader (duplicate keys, a byte-order mark, "\u0000" in a
   name, bytes that are not UTF-8, lone surrogates, numbers that are not
   plain integers, nesting without end) is refused with its reason, and
   rv_checkpoint_inspect verifies the schedule and specs it reports. Each
   file below is otherwise consistent (lengths and checksums fixed up), so
   the refusal is the one under test. */
#include "ravine/ravine.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

#define FILE_A "test_json_strict_a.safetensors"
#define FILE_B "test_json_strict_b.safetensors"
#include "checkpoint_kit.h"

/* Replace from by to in a saved file's header and expect the exact message. */
static void refuse_edit(const blob *x, const char *from, const char *to, rv_status code,
                        const char *want, const char *what)
{
    blob z = rewrite(x, from, to);
    CHECK_MSG(z.b != NULL, "%s: could not edit the header", what);
    if (z.b)
        refuse(z.b, z.n, code, want, what);
    free(z.b);
}

static void differentials(void)
{
    blob x = saved_file();
    /* duplicate keys inside a tensor entry: Python keeps the last, others the first */
    refuse_edit(&x, "\"dtype\":\"F32\",\"shape\":[5]", "\"dtype\":\"F32\",\"dtype\":\"F64\",\"shape\":[5]",
                RV_ERR_FORMAT, "checkpoint '" FILE_B "': tensor 'param/w' has 'dtype' twice",
                "duplicate dtype");
    refuse_edit(&x, "\"data_offsets\":[0,20]", "\"data_offsets\":[0,20],\"data_offsets\":[0,20]",
                RV_ERR_FORMAT, "checkpoint '" FILE_B "': tensor 'param/w' has 'data_offsets' twice",
                "duplicate offsets");
    refuse_edit(&x, "\"dtype\":\"F32\",\"shape\":[5]", "\"dtype\":\"F32\",\"extra\":1,\"shape\":[5]",
                RV_ERR_FORMAT,
                "checkpoint '" FILE_B "': tensor 'param/w' has a field other than dtype, shape and "
                "data_offsets",
                "unknown field");
    /* a NUL inside a name: C strings would end there, Python's would not */
    refuse_edit(&x, "\"param/w\":{", "\"param/w\\u0000x\":{", RV_ERR_FORMAT, NULL, "NUL in a name");
    CHECK(strstr(rv_errmsg(), "a \\u0000 escape (a NUL, which names and values cannot hold)") != NULL);
    refuse_edit(&x, "\"optimizer\":\"adam\"", "\"optimizer\":\"adam\\u0000sgd\"", RV_ERR_FORMAT, NULL,
                "NUL in a value");
    CHECK(strstr(rv_errmsg(), "\\u0000") != NULL);
    /* escapes are read the same way as Python's json reads them */
    refuse_edit(&x, "\"param/w\":{", "\"param/\\ud800w\":{", RV_ERR_FORMAT, NULL, "lone surrogate");
    CHECK(strstr(rv_errmsg(), "a UTF-16 high surrogate escape without its low half") != NULL);
    refuse_edit(&x, "\"param/w\":{", "\"param/\\udc00w\":{", RV_ERR_FORMAT, NULL, "lone low surrogate");
    refuse_edit(&x, "\"param/w\":{", "\"param/\\qw\":{", RV_ERR_FORMAT, NULL, "bad escape");
    CHECK(strstr(rv_errmsg(), "an invalid escape") != NULL);
    refuse_edit(&x, "\"param/w\":{", "\"param/\xff\":{", RV_ERR_FORMAT, NULL, "not UTF-8");
    CHECK(strstr(rv_errmsg(), "bytes that are not UTF-8") != NULL);
    refuse_edit(&x, "\"param/w\":{", "\"param/\xc0\xafw\":{", RV_ERR_FORMAT, NULL, "overlong UTF-8");
    refuse_edit(&x, "\"param/w\":{", "\"param/\tw\":{", RV_ERR_FORMAT, NULL, "raw tab in a string");
    CHECK(strstr(rv_errmsg(), "a control byte inside a string") != NULL);
    /* an escaped name is a name: "param/\u0077" is param/w (as Python reads it) */
    blob y = rewrite(&x, "\"param/w\":{", "\"param/\\u0077\":{");
    spit(FILE_B, y.b, y.n);
    rv_checkpoint_info info;
    CHECK_STATUS(rv_checkpoint_inspect(FILE_B, &info), RV_OK);
    rv_checkpoint_info_free(&info);
    free(y.b);
    /* numbers: plain whole numbers only */
    refuse_edit(&x, "\"shape\":[5]", "\"shape\":[5.0]", RV_ERR_FORMAT,
                "checkpoint '" FILE_B "': tensor 'param/w' has a malformed shape", "5.0");
    refuse_edit(&x, "\"shape\":[5]", "\"shape\":[5e0]", RV_ERR_FORMAT,
                "checkpoint '" FILE_B "': tensor 'param/w' has a malformed shape", "5e0");
    refuse_edit(&x, "\"data_offsets\":[0,20]", "\"data_offsets\":[-0,20]", RV_ERR_FORMAT,
                "checkpoint '" FILE_B "': tensor 'param/w' has a malformed data_offsets", "-0");
    refuse_edit(&x, "\"shape\":[5]", "\"shape\":[9007199254740993]", RV_ERR_FORMAT,
                "checkpoint '" FILE_B "': tensor 'param/w' has a malformed shape", "past 2^53");
    refuse_edit(&x, "\"shape\":[5]", "\"shape\":[05]", RV_ERR_FORMAT, NULL, "leading zero");
    refuse_edit(&x, "\"shape\":[5]", "\"shape\":[1,1,1,1,1,1,1,1,5]", RV_ERR_FORMAT,
                "checkpoint '" FILE_B "': tensor 'param/w' has a malformed shape", "rank 9");
    /* metadata values are strings; __metadata__ once */
    refuse_edit(&x, "\"step\":\"5\"", "\"step\":5", RV_ERR_FORMAT,
                "checkpoint '" FILE_B "': metadata 'step' is not a string", "number in metadata");
    refuse_edit(&x, "{", "{\"__metadata__\":{},", RV_ERR_FORMAT,
                "checkpoint '" FILE_B "': __metadata__ appears twice in the header", "two metadata");
    free(x.b);
}

/* The text around the JSON object: the first byte is '{', nothing but
   spaces after it. */
static void framing(void)
{
    blob x = saved_file();
    unsigned n = header_len(&x);
    unsigned char *y = malloc(x.n + 8);
    /* a byte-order mark in front (the header length grows by 8: BOM + 5 spaces dropped from the end) */
    memcpy(y, x.b, 8);
    memcpy(y + 8, "\xEF\xBB\xBF", 3);
    memcpy(y + 11, x.b + 8, n);
    memset(y + 11 + n, ' ', 5);
    memcpy(y + 8 + n + 8, x.b + 8 + n, x.n - 8 - n);
    for (int i = 0; i < 8; i++)
        y[i] = (unsigned char)((uint64_t)(n + 8) >> (8 * i));
    refuse(y, x.n + 8, RV_ERR_FORMAT, NULL, "byte-order mark");
    CHECK(strstr(rv_errmsg(), "a UTF-8 byte-order mark before the '{'") != NULL);
    /* a space in front */
    memcpy(y, x.b, x.n);
    memmove(y + 9, x.b + 8, n - 1);   /* the last byte is padding */
    y[8] = ' ';
    refuse(y, x.n, RV_ERR_FORMAT, NULL, "leading space");
    CHECK(strstr(rv_errmsg(), "the header must start with '{'") != NULL);
    free(y);
    /* something after the object */
    refuse_edit(&x, "\"}}", "\"}} x", RV_ERR_FORMAT, NULL, "trailing byte");
    CHECK(strstr(rv_errmsg(), "header has bytes after its JSON object") != NULL);
    free(x.b);

    /* nesting without end is refused at 64 levels, not followed down the stack */
    size_t depth = 100000, len = 2 * depth + 64;
    unsigned char *deep = malloc(8 + len);
    char *h = (char *)deep + 8;
    size_t k = (size_t)sprintf(h, "{\"a\":");
    memset(h + k, '[', depth);
    k += depth;
    memset(h + k, ']', depth);
    k += depth;
    h[k++] = '}';
    while (k % 8)
        h[k++] = ' ';
    for (int i = 0; i < 8; i++)
        deep[i] = (unsigned char)((uint64_t)k >> (8 * i));
    refuse(deep, 8 + k, RV_ERR_FORMAT, NULL, "deep nesting");
    CHECK(strstr(rv_errmsg(), "values nested more than 64 deep") != NULL);
    free(deep);
}

/* inspect claims to verify a file: the schedule and the group specs in it
   are parsed, and a bad one is reported against the file. */
static void inspect_verifies(void)
{
    blob x = saved_file();   /* saved without a schedule: "schedule":"" */
    blob y = rewrite(&x, "\"schedule\":\"\"", "\"schedule\":\"cosine(lr=1,t_max=0)\"");
    spit(FILE_B, y.b, y.n);
    rv_checkpoint_info info;
    CHECK_STATUS(rv_checkpoint_inspect(FILE_B, &info), RV_ERR_FORMAT);
    CHECK_STR(rv_errmsg(), "checkpoint '" FILE_B "': metadata 'schedule': spec 'cosine(lr=1,t_max=0)': "
                           "t_max=0: must be >= 1");
    free(y.b);
    y = rewrite(&x, "\"schedule\":\"\"", "\"schedule\":\"cosinus(lr=1)\"");
    spit(FILE_B, y.b, y.n);
    CHECK_STATUS(rv_checkpoint_inspect(FILE_B, &info), RV_ERR_FORMAT);
    CHECK_STR(rv_errmsg(), "checkpoint '" FILE_B "': metadata 'schedule': spec 'cosinus(lr=1)': unknown "
                           "schedule 'cosinus' (did you mean 'cosine'?)");
    free(y.b);
    y = rewrite(&x, "\"group/1/spec\":\"adam(lr=0.003,", "\"group/1/spec\":\"adam(lr=0.003,epsilon=1,");
    spit(FILE_B, y.b, y.n);
    CHECK_STATUS(rv_checkpoint_inspect(FILE_B, &info), RV_ERR_FORMAT);
    CHECK(strstr(rv_errmsg(), "checkpoint '" FILE_B "': metadata 'group/1/spec': spec 'adam(") ==
          rv_errmsg());
    CHECK(strstr(rv_errmsg(), "unknown key 'epsilon' for adam") != NULL);
    free(y.b);
    /* a group index past the groups (each digit checked against the bound) */
    refuse_edit(&x, "\"param/b/group\":\"1\"", "\"param/b/group\":\"5\"", RV_ERR_FORMAT,
                "checkpoint '" FILE_B "': metadata 'param/b/group' = '5' is not a whole number in [0, 1]",
                "group past the end");
    free(x.b);
}

int main(void)
{
    differentials();
    framing();
    inspect_verifies();
    remove(FILE_A);
    remove(FILE_B);
    return check_summary("json_strict");
}
