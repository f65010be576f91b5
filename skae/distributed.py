"""Beyond one process: scoring on Dask and data-parallel training with torch.distributed.

Three ways a scikit-learn user outgrows one process, each on an existing
engine rather than a scheduler of skae's own:

- **Tuning.** Nothing to import from here: skae estimators pickle, resolve
  their ``device`` in ``fit`` on the worker and never touch the global random
  generators, so ``GridSearchCV`` runs unchanged under joblib's Dask backend,
  ``with joblib.parallel_config(backend="dask"): search.fit(X)``, with the
  results of ``n_jobs=1`` (tested on a ``LocalCluster``).
- **Scoring.** :func:`map_blocks` applies a fitted estimator to a Dask array
  or Dask DataFrame block by block and returns a lazy Dask collection, with
  the model sent to each worker once.
- **Training.** :func:`fit_data_parallel` fits an estimator on several
  processes started here, each on its own share of the rows, with the
  gradients averaged over the processes every step by
  ``torch.nn.parallel.DistributedDataParallel`` (gloo on the CPU, nccl
  on CUDA); :func:`fit_in_process_group` is the same fit inside a process
  group that is already running (``torchrun``).

Dask is an optional dependency (``pip install skae[distributed]``), imported
only when :func:`map_blocks` or :func:`worker_environment` runs;
``torch.distributed`` comes with PyTorch. The user guide page "Scaling out"
has runnable recipes, GPU placement and the failure modes.
"""

from ._dask_scoring import map_blocks
from ._dask_workers import worker_environment
from ._data_parallel import fit_data_parallel, fit_in_process_group

__all__ = ["fit_data_parallel", "fit_in_process_group", "map_blocks", "worker_environment"]
