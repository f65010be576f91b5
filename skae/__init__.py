"""skae: scikit-learn compatible autoencoders backed by PyTorch and skorch."""

from ._net import TrainingDivergedError
from .outlier import AutoencoderOutlierDetector
from .transformers import AutoencoderTransformer, VAETransformer

__version__ = "0.1.0"

__all__ = [
    "AutoencoderOutlierDetector",
    "AutoencoderTransformer",
    "TrainingDivergedError",
    "VAETransformer",
    "__version__",
]
