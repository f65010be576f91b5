"""
=======================
A denoising autoencoder
=======================

With ``noise_std`` an :class:`~skae.AutoencoderTransformer` is trained to
rebuild each clean row from a copy with Gaussian noise added (the noise is
redrawn at every optimiser step; the target stays clean). Here both a plain and
a denoising autoencoder clean noisy test digits.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skae import AutoencoderTransformer, DenseNetwork

X, _ = load_digits(return_X_y=True)
X = X / 16.0  # pixels in [0, 1]
X_train, X_test = train_test_split(X, random_state=0)
rng = np.random.RandomState(0)
noisy_test = np.clip(X_test + 0.3 * rng.standard_normal(X_test.shape), 0, 1)

params = {
    "n_components": 16,
    "network": DenseNetwork(hidden_layer_sizes=(128,)),
    # The pixels are in [0, 1] already, and noise_std is in their units.
    "scaling": None,
    "batch_size": 256,
    "learning_rate": 1e-2,
    "tol": 1e-3,
    "n_iter_no_change": 5,
    "random_state": 0,
}
models = {
    "plain": AutoencoderTransformer(**params).fit(X_train),
    "noise_std=0.3": AutoencoderTransformer(noise_std=0.3, **params).fit(
        X_train
    ),
}


def mse(a, b):
    return np.mean((a - b) ** 2)


print(
    f"noisy test images: MSE {mse(noisy_test, X_test):.4f} "
    "against the clean ones"
)
cleaned = {}
for name, model in models.items():
    cleaned[name] = model.inverse_transform(model.transform(noisy_test))
    from_clean = model.inverse_transform(model.transform(X_test))
    print(
        f"{name} autoencoder: MSE {mse(cleaned[name], X_test):.4f} "
        "from the noisy "
        f"images, {mse(from_clean, X_test):.4f} from the clean ones"
    )

# %%
# Eight test digits: clean, noisy, and rebuilt by each model
# ----------------------------------------------------------
rows = {"clean": X_test, "noisy": noisy_test, **cleaned}
fig, axes = plt.subplots(len(rows), 8, figsize=(8, 4.6), layout="constrained")
for r, (name, images) in enumerate(rows.items()):
    for c in range(8):
        axes[r, c].imshow(
            images[c].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1
        )
        axes[r, c].set_xticks([])
        axes[r, c].set_yticks([])
    axes[r, 0].set_ylabel(
        name, rotation=0, ha="right", va="center", fontsize=10
    )
plt.show()

# %%
# The denoising autoencoder rebuilds the noisy digits closer to the clean ones
# than the noisy images themselves are: it was trained on exactly this
# corruption. The plain autoencoder, which never saw noise, does worse than
# doing nothing: it maps the noisy images to the wrong digits' shapes. On
# clean input the plain model is the more accurate one (the second figure
# printed above), so train with the corruption you expect at inference.
