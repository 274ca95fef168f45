"""Title cards of the ``layers`` and ``training`` clips (frame models only; rendering is covered elsewhere)."""

from __future__ import annotations

import pytest
import torch

from geomdl.experiments import layers as layers_exp
from geomdl.experiments import truncation_speed as ts
from scenes.clips.layers import LayersFrames
from scenes.clips.training import TrainingFrames

FPS = 10


@pytest.fixture(scope="module")
def traces():
    torch.set_num_threads(1)
    t_ts, _ = ts.run(ts.TruncationSpeedConfig(q=3, n_per_class=20, steps=30, snapshots=4))
    t_layers, _ = layers_exp.run(layers_exp.LayersConfig(dataset="clustered", n_per_class=30, steps=40,
                                                         eval_every=10))
    return {"truncation-speed": t_ts, "layers": t_layers}


@pytest.mark.parametrize("cls", [LayersFrames, TrainingFrames])
@pytest.mark.parametrize("kind", ["truncation-speed", "layers"])
def test_card_shows_the_run_and_fades(traces, cls, kind):
    tr = traces[kind]
    fr = cls(tr, fps=FPS, duration=1.0, card_seconds=1.0)
    bare = cls(tr, fps=FPS, duration=1.0, card_seconds=0)
    assert fr.card is not None and bare.card is None
    assert fr.n_frames == bare.n_frames + fr.card.n_frames          # the card comes first, the clip is unchanged
    text = "\n".join(fr.card_lines(tr))
    cfg = tr.meta["config"]
    lr = tr.meta.get("lr", cfg["lr"])          # truncation-speed records its resolved (automatic) step size
    assert f"lr {lr:g}" in text and f"seed {tr.meta['seed']}" in text and "geomdl" in text
    assert ("clustered" in text) and (("zero-loss construction" in text) == (kind == "truncation-speed"))
    if kind == "layers":
        assert "loss thresholds: 0.1" in text and f"at most {cfg['steps']} steps" in text
    f0 = fr.frame(0)
    assert f0.cover == 1.0 and [lab.text for lab in f0.card] == fr.card_lines(tr)
    mid = fr.frame(fr.card.n_full + fr.card.n_fade // 2)
    assert 0 < mid.cover < 1 and all(0 < lab.alpha < 1 for lab in mid.card)
    after = fr.frame(fr.card.n_frames)
    assert after.cover == 0 and all(lab.alpha == 0 for lab in after.card)
    # after the card, the clip shows what the card-less clip shows at the same point of its timeline
    a, b = fr.frame(fr.n_frames - 1), bare.frame(bare.n_frames - 1)
    assert [lab.text for lab in a.labels] == [lab.text for lab in b.labels]
