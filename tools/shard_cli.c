/* MPI for the CLI's sharded commands: starting and finishing, and errors
   that every rank reports alike, so a bad input never leaves ranks waiting
   for one that has gone. */
#include "cli.h"
#include "shard.h"

#ifdef RAVINE_HAVE_MPI
#include "core/error.h"

#include <stdlib.h>

static int local_phase;

/* A rank leaving (cli_die) while reading its own input tells the others,
   which are waiting in shard_local_end's agreement. */
static void leaving(void)
{
    if (!local_phase)
        return;
    local_phase = 0;
    rv_fail(RV_ERR_ARG, "stopped on its own input (its message is above)");
    rv_dist_agree(MPI_COMM_WORLD, RV_ERR_ARG);
    MPI_Finalize();
}

void shard_start(void)
{
    /* whole lines: mpirun merges every rank's stderr into one stream */
    setvbuf(stderr, NULL, _IOLBF, BUFSIZ);
    int ready = 0;
    MPI_Initialized(&ready);
    if (!ready && MPI_Init(NULL, NULL) != MPI_SUCCESS)
        cli_die("--shard", "MPI_Init failed");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    atexit(leaving);
}

int shard_finish(void)
{
    MPI_Finalize();
    return 0;
}

void shard_check(const char *what, rv_status s)
{
    if (!s)
        return;
    fprintf(stderr, "ravine: %s: %s\n", what, rv_errmsg()[0] ? rv_errmsg() : rv_strerror(s));
    fflush(stderr);
    MPI_Finalize();
    exit(2);
}

void shard_local_begin(void) { local_phase = 1; }

void shard_local_end(const char *what)
{
    local_phase = 0;
    shard_check(what, rv_dist_agree(MPI_COMM_WORLD, RV_OK));
}

#endif
