"""hntht-agent: the room-side agent of Quảng Ninh's online video-conference system (HNTHTT)."""

__version__ = "0.1.0"
