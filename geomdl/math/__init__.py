"""The mathematics: truncation maps and cones, constructions, separation, metrics, gradient flows, the loss
landscape of explicit networks, neural-collapse feasibility (docs/math.md)."""
