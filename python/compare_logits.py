"""Used by test/python-interop.test.ts: loads an icrl model folder into PyTorch, runs it on the
contexts of an inputs file (safetensors: tokens, queries for DPT), writes the logits to an outputs
file, and saves the model back as an icrl model folder (the PyTorch -> icrl direction).

    python3 python/compare_logits.py MODEL_DIR INPUTS.safetensors OUTPUTS.safetensors [SAVE_DIR]
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from icrl_torch import load_model, read_safetensors, save_model, write_safetensors  # noqa: E402


def main(argv):
    model_path, inputs, outputs = argv[1], argv[2], argv[3]
    model = load_model(model_path)
    x, _ = read_safetensors(inputs)
    with torch.no_grad():
        if model.spec["model"]["kind"] == "dpt":
            y = model.forward_all(x["tokens"], x["queries"])
        else:
            y = model(x["tokens"])
    write_safetensors(outputs, {"logits": y.numpy()})
    if len(argv) > 4:
        save_model(model, argv[4], info={"savedBy": "python/icrl_torch"})
    print(json.dumps({"kind": model.spec["model"]["kind"], "shape": list(y.shape), "parameters": sum(p.numel() for p in model.parameters())}))


if __name__ == "__main__":
    main(sys.argv)
