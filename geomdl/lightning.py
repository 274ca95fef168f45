"""PyTorch Lightning callback: record a ReLU MLP trained by ``lightning.Trainer`` (optional extra ``lightning``).

::

    from geomdl.lightning import GeomdlCallback
    cb = GeomdlCallback(X, y, "runs/mine.npz", module="net", title="my net")
    lightning.Trainer(max_epochs=20, callbacks=[cb]).fit(lit_model, loader)
    # then: geomdl render training --trace runs/mine.npz

One snapshot before training and one after every ``every_n_epochs`` epochs (step = the trainer's global step,
loss = the logged metric ``loss_key`` when there is one); the trace is written when fitting ends, also when it
was interrupted. ``module``: the attribute of the LightningModule holding the network (``None``: the
LightningModule itself, which must then contain only Linear and ReLU layers).
"""

from __future__ import annotations

from pathlib import Path

try:
    from lightning.pytorch.callbacks import Callback
except ImportError as e:  # pragma: no cover - the extra is not installed
    from geomdl.errors import GeomdlError

    raise GeomdlError("geomdl.lightning needs PyTorch Lightning: pip install 'geomdl[lightning]'") from e

from geomdl.io.recorder import Recorder


class GeomdlCallback(Callback):
    """Record the network at the start of fitting and every ``every_n_epochs`` epochs into ``path``."""

    def __init__(self, X, y, path: str | Path, module: str | None = None, every_n_epochs: int = 1,
                 loss_key: str = "train_loss", title: str | None = None, notes: list[str] | str | None = None,
                 **recorder_kw):
        self.X, self.y, self.path = X, y, Path(path)
        self.module, self.every = module, max(1, int(every_n_epochs))
        self.loss_key, self.title, self.notes, self.kw = loss_key, title, notes, recorder_kw
        self.recorder: Recorder | None = None
        self.saved: Path | None = None

    def _net(self, pl_module):
        return pl_module if self.module is None else getattr(pl_module, self.module)

    def _loss(self, trainer) -> float | None:
        v = trainer.callback_metrics.get(self.loss_key)
        return None if v is None else float(v)

    def on_fit_start(self, trainer, pl_module) -> None:
        self.recorder = Recorder.from_module(self._net(pl_module), self.X, self.y, **self.kw)
        self.recorder.snapshot(int(trainer.global_step))

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if (trainer.current_epoch + 1) % self.every == 0 and self.recorder.last_step != trainer.global_step:
            self.recorder.snapshot(int(trainer.global_step), self._loss(trainer))

    def on_fit_end(self, trainer, pl_module) -> None:
        if self.recorder is not None and len(self.recorder):
            self.saved = self.recorder.save(self.path, title=self.title, notes=self.notes, source="lightning")
            self.recorder.close()
