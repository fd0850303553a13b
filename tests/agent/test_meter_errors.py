"""Every meter codec's and client's errors sit in the agent's error tree, in one of its two
families: untrusted data (malformed frame, bad CRC, bad payload) or environment (absent, silent,
refusing). The simulators' errors stay apart from the agent's."""

from __future__ import annotations

import pytest

from agent.errors import AgentError, MeterDataError, MeterError, MeterUnavailable
from agent.meters import echonet_codec as el
from agent.meters import modbus_rtu_codec as rtu
from agent.meters import skstack_codec as skc
from agent.meters import sunspec_layout as sl
from agent.meters.broute import ReadingUnavailable
from agent.meters.mqtt_devices import DeviceUnavailable
from agent.meters.mqtt_payloads import (
    NoEnergyObject,
    PayloadError,
)
from firmware_sim import errors as sim_errors
from firmware_sim import modbus_rtu as sim_rtu

DATA = [rtu.RtuCrcError, rtu.RtuUnexpectedFrame, skc.SkProtocolError, el.EchonetError,
        PayloadError, NoEnergyObject, sl.SunSpecLayoutError]
ENVIRONMENT = [rtu.RtuTimeout, rtu.RtuExceptionResponse, skc.SkTimeout, skc.SkFail,
               skc.SkJoinFailed, skc.SkSessionLost, DeviceUnavailable, ReadingUnavailable]


@pytest.mark.parametrize("cls", DATA, ids=lambda c: c.__name__)
def test_untrusted_data_errors(cls: type[Exception]) -> None:
    assert issubclass(cls, MeterDataError) and not issubclass(cls, MeterUnavailable)


@pytest.mark.parametrize("cls", ENVIRONMENT, ids=lambda c: c.__name__)
def test_environment_errors(cls: type[Exception]) -> None:
    assert issubclass(cls, MeterUnavailable) and not issubclass(cls, MeterDataError)


def test_protocol_bases_are_meter_errors() -> None:
    assert issubclass(rtu.RtuError, MeterError) and issubclass(skc.SkStackError, MeterError)
    assert issubclass(MeterError, AgentError)


def test_a_malformed_rtu_frame_is_a_data_error() -> None:
    with pytest.raises(MeterDataError, match="CRC error"):
        rtu.decode_read_response(bytes.fromhex("0103045375 6e53 0000".replace(" ", "")), 1, 2)


def test_simulator_errors_are_not_agent_errors() -> None:
    assert sim_rtu.FrameError is sim_errors.FrameError
    assert issubclass(sim_errors.FrameError, sim_errors.SimInputError)
    assert not issubclass(sim_errors.SimulatorError, AgentError)
    with pytest.raises(sim_errors.FrameError, match="CRC mismatch"):
        sim_rtu.parse_request(bytes.fromhex("010300000001 0000".replace(" ", "")))
