/* How a tensor is named inside a checkpoint file. */
#include "checkpoint/internal.h"

#include <stdio.h>
#include <stdlib.h>

char *rv_checkpoint_tensor_key(const rv_param_view *v, size_t index)
{
    /* an unnamed tensor still needs a stable, unique key: its position */
    const char *fmt = v->name && v->name[0] ? "%s" : "tensor%zu";
    int len = v->name && v->name[0] ? snprintf(NULL, 0, fmt, v->name) : snprintf(NULL, 0, fmt, index);
    char *key = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (!key)
        return NULL;
    if (v->name && v->name[0])
        snprintf(key, (size_t)len + 1, "%s", v->name);
    else
        snprintf(key, (size_t)len + 1, "tensor%zu", index);
    return key;
}

int rv_checkpoint_valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p++;
        int more;
        unsigned min;
        if (c < 0x80)
            continue;
        else if ((c & 0xE0) == 0xC0) more = 1, min = 0x80, c &= 0x1F;
        else if ((c & 0xF0) == 0xE0) more = 2, min = 0x800, c &= 0x0F;
        else if ((c & 0xF8) == 0xF0) more = 3, min = 0x10000, c &= 0x07;
        else return 0;
        for (int k = 0; k < more; k++, p++) {
            if ((*p & 0xC0) != 0x80)
                return 0;
            c = c << 6 | (*p & 0x3F);
        }
        /* overlong forms, UTF-16 surrogates and values past U+10FFFF */
        if (c < min || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
            return 0;
    }
    return 1;
}
