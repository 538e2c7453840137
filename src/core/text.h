/* Internal: a growable, NUL-terminated string. Canonical specs, checkpoint
   headers and messages are built with it, so no text is ever cut at a
   fixed length. An allocation failure is remembered (oom) and makes every
   later append a no-op, so a builder checks once at the end. */
#ifndef RAVINE_CORE_TEXT_H
#define RAVINE_CORE_TEXT_H

#include <stddef.h>
#include "core/error.h"

typedef struct rv_text {
    char *s;       /* NULL until the first append */
    size_t len, cap;
    int oom;       /* an allocation failed: the text is incomplete */
} rv_text;

void rv_text_put_n(rv_text *t, const char *s, size_t n);
void rv_text_put(rv_text *t, const char *s);
void rv_text_putf(rv_text *t, const char *fmt, ...) RV_PRINTF(2, 3);

/* The text ("" when empty); valid until the next append or rv_text_free. */
const char *rv_text_str(const rv_text *t);

/* Hand the malloc'd string over (NULL if an allocation failed) and reset t. */
char *rv_text_take(rv_text *t);

void rv_text_free(rv_text *t);

#endif
