"""The torch model and its training: the ReLU MLP, losses, training loops and stop rules, snapshot steps."""
