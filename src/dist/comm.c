/* Point-to-point and broadcast of any size: MPI counts are ints, so large
   buffers go as several messages of at most 1 GiB. */
#include "dist/internal.h"

#define CHUNK ((size_t)1 << 30)

rv_status rv_dist_send(const rv_dist *d, const void *buf, size_t bytes, int to)
{
    const char *p = buf;
    do {
        size_t k = bytes < CHUNK ? bytes : CHUNK;
        int rc = MPI_Send(p, (int)k, MPI_BYTE, to, 0, d->comm);
        if (rc != MPI_SUCCESS)
            return rv_dist_mpi_fail(rc, "MPI_Send");
        p += k;
        bytes -= k;
    } while (bytes);
    return RV_OK;
}

rv_status rv_dist_recv(const rv_dist *d, void *buf, size_t bytes, int from)
{
    char *p = buf;
    do {
        size_t k = bytes < CHUNK ? bytes : CHUNK;
        int rc = MPI_Recv(p, (int)k, MPI_BYTE, from, 0, d->comm, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS)
            return rv_dist_mpi_fail(rc, "MPI_Recv");
        p += k;
        bytes -= k;
    } while (bytes);
    return RV_OK;
}

rv_status rv_dist_bcast(MPI_Comm comm, void *buf, size_t bytes, int root)
{
    char *p = buf;
    do {
        size_t k = bytes < CHUNK ? bytes : CHUNK;
        int rc = MPI_Bcast(p, (int)k, MPI_BYTE, root, comm);
        if (rc != MPI_SUCCESS)
            return rv_dist_mpi_fail(rc, "MPI_Bcast");
        p += k;
        bytes -= k;
    } while (bytes);
    return RV_OK;
}
