"""
=========================================
Compress with an autoencoder, then t-SNE
=========================================

t-SNE draws a 2-D map in which near neighbours stay near. A common recipe is
to compress the data first and run :class:`~sklearn.manifold.TSNE` on the
codes. Here the first step is PCA or :class:`~skae.AutoencoderTransformer`,
with the same code width, and
:func:`~sklearn.manifold.trustworthiness` measures how well each map keeps the
neighbours of the original 64-pixel digits (1 is perfect).

The two steps go in one :func:`~sklearn.pipeline.make_pipeline`.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE, trustworthiness
from sklearn.pipeline import make_pipeline

from skae import AutoencoderTransformer, DenseNetwork

X, y = load_digits(return_X_y=True)
X, y = (
    X[:1000],
    y[:1000],
)  # t-SNE's cost grows faster than the rows: 1000 keep it quick

reducers = {
    "PCA, 16 components": PCA(n_components=16, random_state=0),
    "autoencoder, 16 codes": AutoencoderTransformer(
        n_components=16,
        network=DenseNetwork(hidden_layer_sizes=(128,)),
        scaling=None,
        batch_size=256,
        learning_rate=1e-2,
        tol=1e-2,
        n_iter_no_change=5,
        random_state=0,
    ),
}

maps = {}
for name, reducer in reducers.items():
    embed = make_pipeline(
        reducer, TSNE(n_components=2, init="pca", random_state=0)
    )
    maps[name] = embed.fit_transform(X)
    print(
        f"{name}: trustworthiness "
        f"{trustworthiness(X, maps[name], n_neighbors=5):.3f}"
    )

# %%
# The two maps
# ------------
# :class:`~sklearn.manifold.TSNE` has no ``transform``, so it is the last step
# of the pipeline and ``fit_transform`` is the call to make.
fig, axes = plt.subplots(1, 2, figsize=(11, 5.2), layout="constrained")
for ax, (name, points) in zip(axes, maps.items()):
    scatter = ax.scatter(points[:, 0], points[:, 1], c=y, cmap="tab10", s=6)
    ax.set_title(f"t-SNE of the {name}", fontsize=12)
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(scatter, ax=axes, label="digit", ticks=range(10))
plt.show()

# %%
# Both maps separate the ten digits. The trustworthiness printed above says
# how faithful each is; the two are usually within a few thousandths, so on
# data this small the cheaper PCA step does as well. The autoencoder step pays
# off on larger, more curved data, where 16 linear components lose more.
