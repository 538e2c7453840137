/* Force-included (-include) when tools/cli.c and tools/cmd_diagnose.c are
   compiled into the CSV fuzz target. The CLI's readers end the process with
   exit(2) on bad input, which is right for a CLI; here exit jumps back to
   the fuzz target instead, and the allocations and open files the reader
   held at that moment are released, as the process exit would release
   them. Their messages go to a memory buffer instead of stderr (a fuzzer
   rejects millions of inputs), where the target checks each is one line of
   the form "ravine: ...". Nothing of this is part of ravine itself. */
#ifndef RAVINE_FUZZ_CSV_SHIM_H
#define RAVINE_FUZZ_CSV_SHIM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* as tools/cli.c asks, which this header comes before */
#endif
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

void *fuzz_malloc(size_t n);
void *fuzz_calloc(size_t k, size_t n);
void *fuzz_realloc(void *p, size_t n);
char *fuzz_strdup(const char *s);
void fuzz_free(void *p);
FILE *fuzz_fopen(const char *path, const char *mode);
int fuzz_fclose(FILE *f);
void fuzz_exit(int status) __attribute__((noreturn));
extern FILE *fuzz_stderr;

#define malloc fuzz_malloc
#define calloc fuzz_calloc
#define realloc fuzz_realloc
#define strdup fuzz_strdup
#define free fuzz_free
#define fopen fuzz_fopen
#define fclose fuzz_fclose
#define exit fuzz_exit
#undef stderr
#define stderr fuzz_stderr

#endif
