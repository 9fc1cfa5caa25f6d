"""One epoch of the CLS Transformer on ~200k simulated journeys: bucketed bf16 trainer vs naive
padded fp32 loop."""

from training_speed import run

if __name__ == "__main__":
    run("train_transformer_cls_epoch", "transformer_cls", {}, precision="bf16")
