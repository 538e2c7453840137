/* A rank that dies in the middle of a sharded save leaves the old file
   intact. Run under mpirun by save_crash.sh:

       save_crash PATH rank1     rank 1 is killed as the save begins (rank 0
                                 waits for its shard and is then stopped by mpirun)
       save_crash PATH writer    rank 0 is killed half-way through writing

   Both first save a good checkpoint to PATH and keep its bytes in
   PATH.good; the script then checks that PATH still equals PATH.good. */
#include "ravine/dist.h"
#include "checkpoint/internal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t written;

/* Write the first 1000 bytes of the file, then die as a crash would. */
static ssize_t dying_write(int fd, const void *buf, size_t n)
{
    if (written + n > 1000) {
        ssize_t w = write(fd, buf, 1000 - written);
        (void)w;
        fsync(fd);
        raise(SIGKILL);
    }
    written += n;
    return write(fd, buf, n);
}

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    int c, ok = in && out;
    while (ok && (c = getc(in)) != EOF)
        ok = putc(c, out) != EOF;
    if (in)
        fclose(in);
    if (out && fclose(out))
        ok = 0;
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return fprintf(stderr, "usage: save_crash PATH rank1|writer\n"), 2;
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    enum { N = 50000 };
    float *p = calloc(N, sizeof *p), *g = calloc(N, sizeof *g);
    for (int i = 0; i < N; i++)
        g[i] = (float)(i % 17) - 8.0f;
    rv_dist *d;
    if (rv_dist_create_spec(&d, MPI_COMM_WORLD, "adamw(lr=0.01)") ||
        rv_dist_add_param(d, 0, "w", p, g, N, NULL) || rv_dist_step(d) ||
        rv_dist_save(d, NULL, 1, argv[1])) {
        fprintf(stderr, "save_crash: %s\n", rv_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    char good[4096];
    snprintf(good, sizeof good, "%s.good", argv[1]);
    if (rank == 0 && !copy_file(argv[1], good)) {
        fprintf(stderr, "save_crash: cannot copy %s\n", argv[1]);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    rv_dist_step(d);
    if (!strcmp(argv[2], "rank1") && rank == 1)
        raise(SIGKILL);
    if (!strcmp(argv[2], "writer") && rank == 0)
        rv_checkpoint_write_fn = dying_write;
    rv_status s = rv_dist_save(d, NULL, 2, argv[1]);
    /* not reached: a rank was killed */
    fprintf(stderr, "save_crash: rank %d: the save returned %d (%s)\n", rank, s, rv_errmsg());
    MPI_Finalize();
    return 3;
}
