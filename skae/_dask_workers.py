"""Dask worker processes with the malloc settings under which skae runs at full speed."""

from ._dask_scoring import import_dask

#: glibc malloc settings under which skae's inference runs at full speed.
#: Dask starts its worker processes with ``MALLOC_TRIM_THRESHOLD_=65536``;
#: setting any such variable turns off glibc's dynamic mmap threshold, so
#: every array larger than 128 KiB (each batch's activations) is mapped and
#: unmapped again, and ``score_samples`` ran 2.8 times slower in a worker than
#: in the main process. A high mmap threshold and trim threshold restore it.
_WORKER_MALLOC = {"MALLOC_TRIM_THRESHOLD_": str(2**30), "MALLOC_MMAP_THRESHOLD_": str(2**25)}


def worker_environment():
    """Dask configuration that starts worker processes with fast malloc settings.

    Dask starts each worker process with ``MALLOC_TRIM_THRESHOLD_=65536``,
    which makes glibc map and unmap every batch-sized array: inference in such
    a worker ran 2.8 times slower than in the main process (250,000 rows,
    ``score_samples`` of the default detector, one thread each). This sets
    Dask's ``distributed.nanny.pre-spawn-environ`` so that workers started
    afterwards keep large allocations instead (a 1 GiB trim threshold, a
    32 MiB mmap threshold). It changes nothing in running workers: start the
    cluster, or the ``dask worker`` processes, under it.

    Returns
    -------
    config : dask.config.set
        The configuration change, already in effect; use it as a context
        manager to undo it on exit.

    Examples
    --------
    >>> import dask
    >>> from skae.distributed import worker_environment
    >>> with worker_environment():  # doctest: +SKIP
    ...     cluster = LocalCluster(n_workers=2, threads_per_worker=1)
    >>> with worker_environment():
    ...     dask.config.get("distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_")
    '33554432'
    """
    dask, _, _ = import_dask("worker_environment")
    return dask.config.set({f"distributed.nanny.pre-spawn-environ.{name}": value
                            for name, value in _WORKER_MALLOC.items()})
