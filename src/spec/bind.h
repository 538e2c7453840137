/* Internal: binding parsed spec arguments to typed fields, with messages
   that name the spec, the key and the value. Shared by optimizers,
   schedules and surfaces so every spec string reports errors the same way. */
#ifndef RAVINE_SPEC_BIND_H
#define RAVINE_SPEC_BIND_H

#include <stddef.h>
#include "ravine/spec.h"

typedef enum rv_bind_kind {
    RV_BIND_NUMBER,   /* double *dst */
    RV_BIND_INTEGER,  /* double *dst, value must be a whole number */
    RV_BIND_BOOL,     /* int *dst */
    RV_BIND_WORD,     /* int *dst: index into words[] */
    RV_BIND_NUMBERS,  /* double *dst[cap]; *count = how many; a bare number is a 1-tuple */
    RV_BIND_CALL,     /* const rv_spec **dst: a nested call (points into the spec) */
    RV_BIND_TEXT      /* const char **dst: any value, as written */
} rv_bind_kind;

typedef struct rv_binding {
    const char *key;
    rv_bind_kind kind;
    void *dst;
    int required;
    const char *const *words;  /* RV_BIND_WORD: allowed words, NULL-terminated */
    size_t cap;                /* RV_BIND_NUMBERS: capacity of dst; exact if exact != 0 */
    int exact;
    size_t *count;             /* RV_BIND_NUMBERS */
    int *given;                /* optional: set to 1 when the key was present */
} rv_binding;

/* Bind every argument of spec to the table. Unknown keys, duplicate keys,
   wrong types and missing required keys are errors naming spec, key and
   value (with the closest valid key as a suggestion). */
rv_status rv_spec_bind(const rv_spec *spec, const rv_binding *table, size_t n);

/* Range error helper: "spec 'adam(lr=-1)': lr=-1: must be >= 0". */
rv_status rv_spec_range(const rv_spec *spec, rv_status code, const char *key, const char *why);

/* A number as canonical specs write it: %.9g when that reads back to the
   same double (every value typed with up to 9 digits), else the 17 digits
   that always do, so a canonical spec parses back to identical values. */
typedef struct rv_numtext {
    char s[32];
} rv_numtext;
rv_numtext rv_num(double v);

/* Text of the value of key as written in spec, or NULL. */
const char *rv_spec_value_text(const rv_spec *spec, const char *key);

#endif
