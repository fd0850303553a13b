"""Finding a SunSpec device's models: the ``SunS`` marker and the walk along the model chain.

Pure: the registers come through a ``read(address, count)`` callable, so the walk runs the same
over a serial client (:mod:`agent.meters.sunspec`) and over a register image in a test.

Sources: sunspec/pysunspec2 ``sunspec2/modbus/client.py`` ``scan()`` — tries base addresses 0,
40000, 50000 for ``SunS``, then walks models by ID and L; reads L separately "due to some devices
not supplying count for the end model id". docs/meters.md §3: SunS = 0x5375 0x6E53, each next
model at previous start + 2 + L, the chain ends with ID 0xFFFF. The first model must be model 1
(``json/model_1.json``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agent.meters.sunspec_layout import (
    BASE_ADDRESSES,
    COMMON_MODEL_ID,
    END_MODEL_ID,
    MAX_MODELS,
    REGISTER_SPACE,
    SUNS_MARKER,
    SunSpecLayoutError,
)


@dataclass(frozen=True, slots=True)
class ModelHeader:
    """One model in the chain: its ID, the address of its ID register and its length L."""

    model_id: int
    address: int
    length: int

    @property
    def end(self) -> int:
        """First address after the model."""
        return self.address + 2 + self.length


@dataclass(frozen=True, slots=True)
class ModelChain:
    """The discovered map: where ``SunS`` was found and the models that follow it, in order."""

    base: int
    models: tuple[ModelHeader, ...]

    def find(self, model_ids: Sequence[int]) -> ModelHeader | None:
        """The first model whose ID is in ``model_ids``."""
        for m in self.models:
            if m.model_id in model_ids:
                return m
        return None



ReadFn = Callable[[int, int], Sequence[int] | None]
"""``read(address, count)``: the registers, or None when the device answers that the addresses do
not exist (Modbus exception 02). Transport failures (timeout, CRC) propagate as exceptions."""


def _read_exact(read: ReadFn, address: int, count: int) -> Sequence[int] | None:
    regs = read(address, count)
    if regs is not None and len(regs) != count:
        raise SunSpecLayoutError(f"asked for {count} registers at {address}, got {len(regs)}")
    return regs


def parse_model_chain(
    read: ReadFn,
    bases: Sequence[int] = BASE_ADDRESSES,
    max_models: int = MAX_MODELS,
) -> ModelChain:
    """Find ``SunS`` at one of ``bases`` and walk the models by ID and L to the end model.

    A base that answers "no such address" or holds something other than ``SunS`` is skipped;
    a transport failure at any step propagates (a silent device is not retried at every base).
    The first model must be model 1 (model_1.json). A chain that stops being readable after at
    least one model is accepted as ended, since some devices omit the end marker's L (pysunspec2
    ``scan()``) or the end marker itself.
    """
    tried: list[str] = []
    for base in bases:
        if not 0 <= base <= REGISTER_SPACE - 4:
            raise SunSpecLayoutError(f"base address {base} out of range")
        marker = _read_exact(read, base, 2)
        if marker is None:
            tried.append(f"{base}: no such address")
            continue
        if tuple(marker) != SUNS_MARKER:
            tried.append(f"{base}: {marker[0]:04x} {marker[1]:04x}")
            continue
        return _walk(read, base, max_models)
    raise SunSpecLayoutError("no SunS marker (" + "; ".join(tried) + ")")


def _walk(read: ReadFn, base: int, max_models: int) -> ModelChain:
    models: list[ModelHeader] = []
    address = base + 2
    while True:
        if address >= REGISTER_SPACE:
            if models:
                break
            raise SunSpecLayoutError(f"chain at base {base} runs past the address space")
        if len(models) >= max_models:
            raise SunSpecLayoutError(f"more than {max_models} models after base {base}")
        header = _read_exact(read, address, 2) if address + 1 < REGISTER_SPACE else None
        if header is None:
            # the end model may have no L register (pysunspec2), or no end marker at all
            ident = _read_exact(read, address, 1)
            if ident is not None and ident[0] == END_MODEL_ID:
                break
            if models:
                break
            raise SunSpecLayoutError(f"no model header at {address} after SunS at {base}")
        model_id, length = header[0], header[1]
        if model_id == END_MODEL_ID:
            break
        if not models and model_id != COMMON_MODEL_ID:
            raise SunSpecLayoutError(f"first model after SunS at {base} is {model_id}, not 1")
        if address + 2 + length > REGISTER_SPACE:
            raise SunSpecLayoutError(f"model {model_id} at {address} with L={length} overflows")
        models.append(ModelHeader(model_id=model_id, address=address, length=length))
        address += 2 + length
    if not models:
        raise SunSpecLayoutError(f"SunS at {base} is followed by no model")
    return ModelChain(base=base, models=tuple(models))
