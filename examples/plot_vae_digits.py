"""
===========================================
A variational autoencoder: samples and map
===========================================

:class:`~skae.VAETransformer` learns a two-dimensional Gaussian latent space of
scikit-learn's 8x8 digits. ``transform`` gives each image's posterior mean,
``inverse_transform`` decodes any point of the plane, and ``sample`` draws new
images from the prior.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm
from sklearn.datasets import load_digits

from skae import DenseNetwork, VAETransformer

X, y = load_digits(return_X_y=True)
vae = VAETransformer(
    n_components=2,
    network=DenseNetwork(hidden_layer_sizes=(128, 32)),
    batch_size=128,
    learning_rate=3e-3,
    kl_warmup_epochs=10,
    tol=0.5,  # nats per image: the ELBO is about -130 here
    n_iter_no_change=5,
    random_state=0,
).fit(X)
print(f"{vae.n_iter_} epochs, mean ELBO {vae.score(X):.1f} nats per image")

# %%
# The latent map
# --------------
# Each image's code, coloured by its digit. The prior is N(0, I), so the codes
# gather around the origin.
codes = vae.transform(X)
fig, ax = plt.subplots(figsize=(6.5, 5.5), layout="constrained")
points = ax.scatter(codes[:, 0], codes[:, 1], c=y, cmap="tab10", s=6)
fig.colorbar(points, ax=ax, label="digit", ticks=range(10))
ax.set_xlabel("code 1")
ax.set_ylabel("code 2")
ax.set_title("VAETransformer.transform of the digits", fontsize=12)
plt.show()

# %%
# Decoding the plane, and sampling
# --------------------------------
# Left: the decoder on a 10 x 10 grid at the 5 % to 95 % quantiles of the
# prior. Right: ``vae.sample(100)``, images decoded from codes drawn from the
# prior.
quantiles = norm.ppf(np.linspace(0.05, 0.95, 10))
grid = np.array([[a, b] for b in quantiles[::-1] for a in quantiles])
decoded = vae.inverse_transform(grid)
samples = vae.sample(100, random_state=0)


def mosaic(images):
    """Ten rows of ten 8x8 images, as one array."""
    return images.reshape(10, 10, 8, 8).transpose(0, 2, 1, 3).reshape(80, 80)


fig, axes = plt.subplots(1, 2, figsize=(10, 5), layout="constrained")
for ax, images, title in zip(
    axes,
    (decoded, samples),
    ("decoder on a grid of the plane", "vae.sample(100)"),
):
    ax.imshow(mosaic(images), cmap="gray_r", vmin=0, vmax=16)
    ax.set_title(title, fontsize=12)
    ax.axis("off")
plt.show()

# %%
# sphinx_gallery_thumbnail_number = 2
# Neighbouring points of the plane decode to similar images, and digits morph
# into one another along the grid. Two dimensions are few for ten digits:
# some (4 and 9, 3 and 5) share a region, and their samples are blurred.
