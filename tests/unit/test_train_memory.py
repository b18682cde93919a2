"""What issue 14's memory fixes must not change: MNIST kept as uint8 pixels trains on exactly the
numbers the float32 copy held, evaluation in chunks predicts as one pass does, an epoch's training
accuracy counts each batch as it was trained, and the IDX reader refuses what it cannot hold."""

import gzip

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from bn_core import data
from bn_core import train as tr
from tests.unit.test_data import fake_mnist, write_idx


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mnist")
    fake_mnist(folder, n_train=600, n_test=200, size=28)
    return data.load_mnist(folder)


def as_floats(d: data.Dataset) -> data.Dataset:
    """The same data set with float32 images, as load_mnist made them before (float64 division)."""
    floats = {name: (getattr(d, name) / 255.0).astype(np.float32) for name in ("x_train", "x_val", "x_test")}
    return data.Dataset(d.name, d.image_shape, floats["x_train"], d.y_train, floats["x_val"], d.y_val,
                        floats["x_test"], d.y_test)  # fmt: skip


def test_uint8_mnist_trains_exactly_as_its_float32_copy(mnist):
    assert mnist.x_train.dtype == np.uint8
    config = tr.TrainConfig(dataset="mnist", hidden=32, depth=2, batch_size=16, epochs=2, optimizer="adam", lr=1e-3)
    kept, floats = tr.train(config, data=mnist), tr.train(config, data=as_floats(mnist))
    assert [e.train_loss for e in kept.epochs] == [e.train_loss for e in floats.epochs]
    assert [e.val_accuracy for e in kept.epochs] == [e.val_accuracy for e in floats.epochs]
    assert np.array_equal(kept.test_predictions, floats.test_predictions)
    for a, b in zip(kept.model.state_dict().values(), floats.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_evaluation_in_chunks_predicts_as_one_pass():
    config = tr.TrainConfig(hidden=32, depth=2)
    model = tr.DigitNN(64, config).eval()
    generator = torch.Generator().manual_seed(3)
    n = int(2.5 * tr.EVAL_CHUNK)
    x = torch.rand(n, 64, generator=generator)
    y = torch.randint(0, 10, (n,), generator=generator)
    loss, accuracy, predicted = tr.evaluate(model, x, y)
    with torch.no_grad():
        logits = model(x)
    assert torch.equal(predicted, logits.argmax(1))
    assert accuracy == (logits.argmax(1) == y).float().mean().item()
    assert loss == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-6)


def test_an_epochs_training_accuracy_counts_each_batch_as_it_was_trained(mnist):
    """Replays the run by hand (same seed, same batches, same steps) and counts correct answers
    batch by batch, from each batch's logits before its step."""
    config = tr.TrainConfig(dataset="mnist", hidden=32, batch_size=32, epochs=2)
    history = tr.train(config, data=mnist, measure_at=lambda step: False)
    generator = torch.Generator().manual_seed(config.seed)
    model = tr.DigitNN(mnist.n_inputs, config, generator)
    optimizer = tr.make_optimizer(model, config)
    x, y = torch.from_numpy(data.unit(mnist.x_train)), torch.from_numpy(mnist.y_train)
    for record in history.epochs:
        model.train()
        correct = 0
        for idx in tr.batches(len(y), config.batch_size, generator, merge_single=True):
            logits = model(x[idx])
            loss = F.cross_entropy(logits, y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            correct += int((logits.argmax(1) == y[idx]).sum())
        assert record.train_accuracy == correct / len(y)
    assert 0.0 < history.epochs[-1].train_accuracy < 1.0


def test_read_idx_refuses_a_header_that_promises_too_much(tmp_path):
    path = tmp_path / "huge.gz"
    header = bytes([0, 0, 0x08, 3]) + b"".join(n.to_bytes(4, "big") for n in (100_000, 4_000, 4_000))
    path.write_bytes(gzip.compress(header + bytes(100)))
    with pytest.raises(data.DataUnavailable, match="more than"):
        data.read_idx(path)


def test_read_idx_refuses_data_beyond_its_shape(tmp_path):
    path = write_idx(tmp_path / "long", np.arange(10), compress=True)
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()) + b"\x00"))
    with pytest.raises(data.DataUnavailable, match="more than 10 bytes of data, expected 10"):
        data.read_idx(path)
