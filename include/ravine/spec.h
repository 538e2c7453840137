/* ravine/spec.h — spec strings: optimizers, schedules and surfaces named the
   way a PyTorch user writes them.

       adamw(lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1)
       warmup_cosine(peak=1e-3, warmup_steps=100, decay_steps=1000)
       then(first=linear(lr=1e-3, start_factor=0.01, total_iters=100),
            second=cosine(lr=1e-3, t_max=900), at=100)

   Grammar (whitespace is ignored, keywords only):

       spec  := name [ "(" [ arg { "," arg } ] ")" ]
       arg   := key "=" value
       value := number | bool | word | "(" value { "," value } ")" | spec-call
       bool  := true | false | True | False

   Numbers use C syntax (3e-4, .9, -1). A value may itself be a call
   (name "(" args ")"), which is how schedules are joined.

   Most programs never touch this header: rv_optim_create_spec(),
   rv_schedule_parse() and the surface parser take the string directly. It is
   public for tools that want the same syntax for their own objects:

       rv_spec s;
       if (rv_spec_parse("bowl(kappa=10)", &s) == RV_OK) {
           // s.name == "bowl", s.args[0].key == "kappa", s.args[0].value.number == 10
           rv_spec_free(&s);
       }

   Errors: RV_ERR_SPEC_SYNTAX with rv_errmsg() showing the spec and the
   position ("adam(lr=)": expected a value at column 9).

   Limits (parsing takes time and memory linear in the text): at most
   RV_SPEC_MAX_ARGS keys in one call, RV_SPEC_MAX_ITEMS values in one tuple,
   values nested RV_SPEC_MAX_DEPTH deep; past them the spec is refused with
   RV_ERR_SPEC_SYNTAX naming the limit. */
#ifndef RAVINE_SPEC_H
#define RAVINE_SPEC_H

#include <stddef.h>
#include "ravine/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RV_SPEC_MAX_ARGS 256
#define RV_SPEC_MAX_ITEMS 4096
#define RV_SPEC_MAX_DEPTH 16

typedef enum rv_value_kind {
    RV_VALUE_NUMBER,
    RV_VALUE_BOOL,
    RV_VALUE_WORD,
    RV_VALUE_TUPLE,
    RV_VALUE_CALL
} rv_value_kind;

struct rv_spec;

typedef struct rv_value {
    rv_value_kind kind;
    double number;            /* RV_VALUE_NUMBER */
    int boolean;              /* RV_VALUE_BOOL: 0 or 1 */
    char *word;               /* RV_VALUE_WORD */
    struct rv_value *items;   /* RV_VALUE_TUPLE */
    size_t n_items;
    struct rv_spec *call;     /* RV_VALUE_CALL */
    char *text;               /* the value as written, whitespace removed */
} rv_value;

typedef struct rv_arg {
    char *key;
    rv_value value;
} rv_arg;

typedef struct rv_spec {
    char *name;
    rv_arg *args;
    size_t n_args;
    char *text;               /* the whole spec as written, whitespace removed */
} rv_spec;

/* Parse text into *out. On failure *out is left empty (safe to free). */
rv_status rv_spec_parse(const char *text, rv_spec *out);

/* Release what rv_spec_parse allocated; safe on a zeroed or freed spec. */
void rv_spec_free(rv_spec *spec);

/* The candidate closest to word by edit distance, or NULL if none is close
   enough to be a plausible typo. candidates ends with a NULL entry. */
const char *rv_closest_word(const char *word, const char *const *candidates);

#ifdef __cplusplus
}
#endif
#endif
