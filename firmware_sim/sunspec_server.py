"""A SunSpec inverter's Modbus slave logic: a register image and request → response.

Pure (no I/O, no clock): :class:`SunSpecServer` holds the image built with
:mod:`firmware_sim.sunspec_registers` — ``SunS``, model 1, an inverter model (101/102/103) and/or
the DER AC measurement model 701 (as configured: the classic map, a 701-only map of a newer DER
inverter, or both, as a firmware that added the 7xx models beside the old ones serves), the end
model — and turns one request frame into one response frame, or into silence where a real RTU
slave stays silent (Modbus over Serial Line V1.02 §2.4.1: a frame with a bad CRC is discarded; a
slave answers only requests addressed to it; broadcasts (unit 0) are never answered). Exceptions
follow the Application Protocol §7: 01 for a function we do not implement, 02 when any register
of the range lies outside the image, 03 for a quantity outside 1..125.

:class:`firmware_sim.inverter.PtyInverter` moves the bytes and updates the measurements.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from agent.meters import sunspec_layout as sl
from firmware_sim import modbus_rtu as rtu
from firmware_sim import sunspec_registers as sr
from firmware_sim.errors import FrameError


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Static description of the simulated device."""

    common: sl.CommonModel
    unit: int = 1
    base: int = sl.DEFAULT_BASE
    inverter_model: int | None = 103  # None: no model 101/102/103 in the map
    der_ac: bool = False  # model 701 after the inverter model (or alone)

    def __post_init__(self) -> None:
        if not 1 <= self.unit <= 247:
            raise ValueError(f"unit {self.unit} not in 1..247")
        if self.base not in sl.BASE_ADDRESSES:
            raise ValueError(f"base {self.base} is not one of {sl.BASE_ADDRESSES}")
        if self.inverter_model is not None and self.inverter_model not in sl.INVERTER_MODEL_IDS:
            raise ValueError(f"inverter model {self.inverter_model} not in 101..103")
        if self.inverter_model is None and not self.der_ac:
            raise ValueError("the map needs an inverter model 101/102/103, model 701, or both")

    @property
    def model_ids(self) -> tuple[int, ...]:
        """The models after ``SunS``, in order."""
        inverter = () if self.inverter_model is None else (self.inverter_model,)
        return (sl.COMMON_MODEL_ID, *inverter, *((sl.DER_AC_MODEL_ID,) if self.der_ac else ()))


class SunSpecServer:
    """Register image plus request handling for one slave."""

    def __init__(
        self,
        config: ServerConfig,
        values: sl.InverterValues | None = None,
        der: sl.DerAcValues | None = None,
    ) -> None:
        self.config = config
        self._common = sr.encode_common(config.common)
        self._values = values or sl.InverterValues(model_id=config.inverter_model or 103)
        self._der = der or sl.DerAcValues()
        self._image = self._build()

    @property
    def inverter_address(self) -> int:
        """Protocol address of the inverter model's ID register (or of model 701 without one)."""
        return self.config.base + 2 + len(self._common)

    @property
    def der_address(self) -> int | None:
        """Protocol address of model 701's ID register, if the map has it."""
        if not self.config.der_ac:
            return None
        skip = 0 if self.config.inverter_model is None else sl.INVERTER_LENGTH + 2
        return self.inverter_address + skip

    @property
    def image(self) -> sr.RegisterImage:
        return self._image

    @property
    def values(self) -> sl.InverterValues:
        return self._values

    def update(self, values: sl.InverterValues, der: sl.DerAcValues | None = None) -> None:
        """Replace the measurements (the inverter model ID stays the configured one); ``der``
        replaces model 701's when given."""
        self._values = replace(values, model_id=self.config.inverter_model or values.model_id)
        if der is not None:
            self._der = der
        self._image = self._build()

    def _build(self) -> sr.RegisterImage:
        models = [self._common]
        if self.config.inverter_model is not None:
            models.append(sr.encode_inverter(self._values))
        if self.config.der_ac:
            models.append(sr.encode_der_ac(self._der))
        return sr.build_image(self.config.base, models)

    def handle(self, frame: bytes) -> bytes | None:
        """The response to one request frame, or None where a real slave stays silent."""
        try:
            request = rtu.parse_request(frame)
        except FrameError:
            return None  # bad CRC or runt: discarded, as on a real line
        if request.unit != self.config.unit:
            return None  # another slave's request, or a broadcast
        if isinstance(request, rtu.OtherRequest) or request.function != rtu.READ_HOLDING_REGISTERS:
            return rtu.build_exception_response(
                request.unit, request.function, rtu.ILLEGAL_FUNCTION
            )
        if not 1 <= request.count <= rtu.MAX_READ_COUNT:
            return rtu.build_exception_response(
                request.unit, request.function, rtu.ILLEGAL_DATA_VALUE
            )
        regs = self._image.read(request.address, request.count)
        if regs is None:
            return rtu.build_exception_response(
                request.unit, request.function, rtu.ILLEGAL_DATA_ADDRESS
            )
        return rtu.build_read_response(request.unit, regs)
