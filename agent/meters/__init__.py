"""Meter readers, one module per protocol, all behind :class:`interface.Meter`."""
