"""skae: scikit-learn compatible autoencoders backed by PyTorch and skorch."""

from ._net import TrainingDivergedError
from .display import FeatureErrorDisplay, LossCurveDisplay, ScoreHistogramDisplay
from .export import to_onnx
from .impute import AutoencoderImputer
from .networks import ConvNetwork, DenseNetwork, LSTMNetwork
from .objectives import VAE, Reconstruction
from .outlier import AutoencoderOutlierDetector
from .persistence import PersistenceError, load, save
from .sequences import SequenceOutlierDetector
from .transformers import AutoencoderTransformer, VAETransformer

__version__ = "0.3.0"

__all__ = [
    "VAE",
    "AutoencoderImputer",
    "AutoencoderOutlierDetector",
    "AutoencoderTransformer",
    "ConvNetwork",
    "DenseNetwork",
    "FeatureErrorDisplay",
    "LSTMNetwork",
    "LossCurveDisplay",
    "PersistenceError",
    "Reconstruction",
    "ScoreHistogramDisplay",
    "SequenceOutlierDetector",
    "TrainingDivergedError",
    "VAETransformer",
    "__version__",
    "load",
    "save",
    "to_onnx",
]
