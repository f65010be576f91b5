"""The ensemble modules: stacked members compute exactly their own networks."""

import numpy as np
import pytest
import torch

from skae._ensembles import DenseEnsemble, ModuleEnsemble, trimmed_mean
from skae._torch_modules import DenseAutoencoder
from skae.networks import DenseNetwork, LSTMNetwork


def _member_as_network(ensemble, member, sizes, n_features, tied):
    """A DenseAutoencoder holding member ``member``'s weights, unpadded."""
    net = DenseAutoencoder(n_features, sizes[-1], hidden_layer_sizes=sizes[:-1],
                           activation="elu", tied_weights=tied)
    linears = [m for m in [*net.encoder, *net.decoder] if hasattr(m, "bias")
               and m.bias is not None and m.bias.ndim == 1]
    widths = [n_features, *sizes, *sizes[-2::-1], n_features]
    with torch.no_grad():
        for i, layer in enumerate(linears):
            n_in, n_out = widths[i], widths[i + 1]
            if hasattr(layer, "weight") and isinstance(layer.weight, torch.nn.Parameter) \
                    and not (tied and i > len(sizes) - 1):
                layer.weight.copy_(ensemble._weight(i)[member, :n_in, :n_out].T)
            layer.bias.copy_(ensemble.biases[i][member, 0, :n_out])
    return net.eval()


@pytest.mark.parametrize("tied", [False, True])
def test_each_member_computes_its_own_smaller_network(tied):
    torch.manual_seed(0)
    sizes = [(16, 2), (8, 4), (12, 3)]
    ensemble = DenseEnsemble(10, sizes, tied_weights=tied).eval()
    x = torch.randn(7, 10)
    reconstructions, codes = ensemble(x)
    assert reconstructions.shape == (3, 7, 10) and codes.shape == (3, 7, 4)
    for member, member_sizes in enumerate(sizes):
        net = _member_as_network(ensemble, member, member_sizes, 10, tied)
        expected, code = net(x)
        torch.testing.assert_close(reconstructions[member], expected)
        torch.testing.assert_close(codes[member, :, :member_sizes[-1]], code)
        assert (codes[member, :, member_sizes[-1]:] == 0).all()  # padded units stay off


def test_padded_units_get_no_gradient():
    ensemble = DenseEnsemble(6, [(8, 3), (4, 1)])
    x = torch.randn(5, 6)
    reconstructions, _ = ensemble(x)
    ((reconstructions - x) ** 2).mean().backward()
    first = ensemble.weights[0].grad
    assert first[1, :, 4:].abs().sum() == 0 and first[1, :, :4].abs().sum() > 0
    assert ensemble.weights[1].grad[1, :, 1:].abs().sum() == 0


def test_stacked_batch_norm_normalises_each_member_over_the_batch():
    ensemble = DenseEnsemble(6, [(8, 2), (8, 2)], batch_norm=True)
    norm = ensemble.norms["0"]
    h = torch.randn(2, 50, 8) * torch.tensor([1.0, 5.0])[:, None, None] + 3
    out = norm(h)
    torch.testing.assert_close(out.mean(dim=1), torch.zeros(2, 8), atol=1e-5, rtol=0)
    assert not torch.equal(norm.running_mean, torch.zeros_like(norm.running_mean))
    norm.eval()
    assert norm(h).shape == h.shape


def test_network_objects_build_their_ensembles():
    dense = DenseNetwork(hidden_layer_sizes=(20, 10)).build_ensemble(
        12, [(2, 0.5), (4, 1.0)], code_activation="identity", output_activation="identity")
    assert isinstance(dense, DenseEnsemble)
    assert dense.code_widths == [2, 4]
    assert [w.shape for w in dense.weights][:3] == [(2, 12, 20), (2, 20, 10), (2, 10, 4)]
    assert (dense.mask0[0, 0] == torch.tensor([1.0] * 10 + [0.0] * 10)).all()
    lstm = LSTMNetwork(input_shape=(6, 2), hidden_layer_sizes=(4,)).build_ensemble(
        12, [(2, 0.5), (3, 1.0)], code_activation="identity", output_activation="identity")
    assert isinstance(lstm, ModuleEnsemble) and lstm.code_widths == [2, 3]
    reconstructions, codes = lstm(torch.randn(5, 12))
    assert reconstructions.shape == (2, 5, 12) and codes.shape == (2, 5, 3)
    assert (codes[0, :, 2] == 0).all()


def test_trimmed_mean_leaves_out_the_worst_rows_of_each_member():
    rows = torch.tensor([[1.0, 2.0, 3.0, 100.0], [5.0, 1.0, 1.0, 1.0]])
    torch.testing.assert_close(trimmed_mean(rows, 0.25), torch.tensor([2.0, 1.0]))
    torch.testing.assert_close(trimmed_mean(rows, 0.0), rows.mean(dim=1))
    # Never fewer than one row.
    torch.testing.assert_close(trimmed_mean(rows[:, :1], 0.9), rows[:, 0])
    assert np.isclose(float(trimmed_mean(rows, 0.5)[0]), 1.5)
