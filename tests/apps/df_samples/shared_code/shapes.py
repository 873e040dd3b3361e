"""A value type the app passes between functions with the SDK's custom serialization hooks."""

from __future__ import annotations

import json


class Parcel:
    """A parcel with a weight; serialized through `to_json`/`from_json` as the SDK expects."""

    def __init__(self, label: str, grams: int) -> None:
        self.label = label
        self.grams = grams

    def heavier(self, extra: int) -> Parcel:
        return Parcel(self.label, self.grams + extra)

    @staticmethod
    def to_json(obj: Parcel) -> str:
        return json.dumps({"label": obj.label, "grams": obj.grams})

    @staticmethod
    def from_json(text: str) -> Parcel:
        data = json.loads(text)
        return Parcel(data["label"], data["grams"])
