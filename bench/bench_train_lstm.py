"""One epoch of the LSTM on ~200k simulated journeys: bucketed trainer vs naive padded loop."""

from training_speed import run

if __name__ == "__main__":
    run("train_lstm_epoch", "lstm", {}, precision="fp32")
