"""The `lmms_eval.models` entry point: lmms-eval finds the viddiff model through it."""


def manifest():
    """lmms-eval's registration of the `viddiff` model (`lmms-eval --model viddiff`)."""
    from lmms_eval.models.registry_v2 import ModelManifest

    return ModelManifest(model_id="viddiff", simple_class_path="viddiff.harness.model.ViddiffModel")
