"""The PCA start of a network's linear path.

A network with a linear path (:class:`~skae._torch_modules.LinearPathAutoencoder`)
starts training at the principal axes of the scaled training rows, so its
first reconstruction is PCA's and training only has to find what a linear map
misses. The axes come from the covariance matrix, accumulated over blocks of
rows in float64: exact for every row, in memory for one block and one
``n_features x n_features`` matrix.
"""

import numpy as np

# Above this many features the covariance matrix would be large: the axes
# come from an SVD of at most _MAX_SVD_ROWS rows instead.
_MAX_COVARIANCE_FEATURES = 4096
_MAX_SVD_ROWS = 20000


def principal_axes(dataset, n_components, seed, total=None):
    """Mean and the ``n_components`` strongest principal axes of a dataset's scaled rows.

    Parameters
    ----------
    dataset : ArrayDataset
        The training rows, served scaled.
    n_components : int
        How many axes; at most the number of features.
    seed : int
        Draws the rows of the SVD when there are too many features for the
        covariance matrix.
    total : callable, default=None
        Sums an array over every process of a data-parallel fit, so that
        the axes are those of all their rows; ``None``: this process's rows
        are all the rows. (Too wide for the covariance matrix, the axes are
        those of this process's rows.)

    Returns
    -------
    mean : ndarray of shape (n_features,)
    components : ndarray of shape (n_components, n_features)
        Orthonormal rows, by decreasing variance, each with its largest
        entry positive (so the axes do not depend on the solver's signs).
    """
    n_samples, n_features = dataset.X.shape
    if n_features > _MAX_COVARIANCE_FEATURES:
        if n_samples > _MAX_SVD_ROWS:
            dataset = dataset.subset(np.sort(np.random.RandomState(seed).choice(
                n_samples, _MAX_SVD_ROWS, replace=False)))
        scaled = np.concatenate(list(dataset.scaled_blocks()))
        mean = scaled.mean(axis=0)
        _, _, axes = np.linalg.svd(scaled - mean, full_matrices=False)
        return mean, _signed(axes[:n_components])
    sums, gram = np.zeros(n_features), np.zeros((n_features, n_features))
    for scaled in dataset.scaled_blocks():
        sums += scaled.sum(axis=0)
        gram += scaled.T @ scaled
    if total is not None:
        n_samples, sums, gram = (total(np.asarray(v, dtype=np.float64))
                                 for v in (float(n_samples), sums, gram))
    mean = sums / n_samples
    covariance = gram / n_samples - np.outer(mean, mean)
    _, vectors = np.linalg.eigh(covariance)  # ascending eigenvalues
    return mean, _signed(vectors[:, ::-1][:, :n_components].T)


def _signed(axes):
    """``axes`` with each row's largest-magnitude entry made positive."""
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])
    return axes * np.where(signs == 0, 1.0, signs)[:, None]
