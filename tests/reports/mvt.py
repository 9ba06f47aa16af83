"""A small Mapbox vector tile reader for the tests (the protobuf wire format, spec 2.1): layers, features with
their properties and point geometry in tile coordinates. Independent of PostGIS, which writes the tiles."""


def _varint(data: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _fields(data: bytes):
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 2:
            length, i = _varint(data, i)
            value, i = data[i:i + length], i + length
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield number, wire, value


def _packed(data: bytes) -> list[int]:
    out, i = [], 0
    while i < len(data):
        v, i = _varint(data, i)
        out.append(v)
    return out


def _zigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _value(data: bytes):
    import struct

    for number, _wire, v in _fields(data):
        if number == 1:
            return v.decode("utf-8")
        if number == 2:
            return struct.unpack("<f", v)[0]
        if number == 3:
            return struct.unpack("<d", v)[0]
        if number in (4, 5):
            return v if v < 2**63 else v - 2**64
        if number == 6:
            return _zigzag(v)
        if number == 7:
            return bool(v)
    return None


def _points(geometry: list[int]) -> list[tuple[int, int]]:
    pts, i, x, y = [], 0, 0, 0
    while i < len(geometry):
        cmd, count = geometry[i] & 7, geometry[i] >> 3
        i += 1
        if cmd in (1, 2):
            for _ in range(count):
                x += _zigzag(geometry[i])
                y += _zigzag(geometry[i + 1])
                i += 2
                pts.append((x, y))
    return pts


def decode(tile: bytes) -> dict[str, list[dict]]:
    """{layer name: [{"properties": {...}, "points": [(x, y), ...]}, ...]}"""
    layers = {}
    for number, _wire, layer in _fields(tile):
        if number != 3:
            continue
        name, keys, values, raw = None, [], [], []
        for n, _w, v in _fields(layer):
            if n == 1:
                name = v.decode("utf-8")
            elif n == 2:
                raw.append(v)
            elif n == 3:
                keys.append(v.decode("utf-8"))
            elif n == 4:
                values.append(_value(v))
        features = []
        for feature in raw:
            tags, geometry = [], []
            for n, _w, v in _fields(feature):
                if n == 2:
                    tags = _packed(v)
                elif n == 4:
                    geometry = _packed(v)
            props = {keys[tags[k]]: values[tags[k + 1]] for k in range(0, len(tags), 2)}
            features.append({"properties": props, "points": _points(geometry)})
        layers[name] = features
    return layers
